import { CodeCell } from '@jupyterlab/cells';
import { INotebookCellExecutor, KernelError, runCell } from '@jupyterlab/notebook';
import { OutputArea } from '@jupyterlab/outputarea';
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel } from '@jupyterlab/services';

import { DdpApi } from '../client/api';

type RunOptions = INotebookCellExecutor.IRunCellOptions;

/**
 * JupyterLab's own `runCell` of the cell's source. Whatever it rejects with, it has told
 * `onCellExecuted` first (the cell failed): a KernelError is the cell raising, as JupyterLab's own
 * `runCells` takes it; anything else (no kernel, a disposed session) is logged as well.
 */
export async function runSource(options: RunOptions): Promise<boolean> {
  try {
    return await runCell(options);
  } catch (err) {
    if (!(err instanceof KernelError)) {
      console.error('jupyter-ddp: running the cell in the notebook kernel failed', err);
    }
    return false;
  }
}

/**
 * Run `code` in the notebook's kernel as this cell's execution: what JupyterLab's own `runCell`
 * does with the cell's source, for a cell whose Ddip magics were rewritten (the `%%dip` line
 * dropped, `%dipush` turned into a call). Outputs, execution count and busy prompt as usual.
 */
export async function runLocalCode(options: RunOptions, code: string): Promise<boolean> {
  const cell = options.cell as CodeCell;
  const model = cell.model;
  const context = options.sessionContext;
  if (!code.trim() || !context?.session?.kernel) {
    model.sharedModel.transact(() => model.clearExecution(), false);
    options.onCellExecuted({ cell, success: true });
    return true;
  }
  options.onCellExecutionScheduled({ cell });
  model.sharedModel.transact(() => model.clearExecution(), false);
  cell.outputHidden = false;
  model.executionState = 'running';
  model.trusted = true;
  let success = false;
  try {
    const reply = await OutputArea.execute(code, cell.outputArea, context, {
      cellId: model.sharedModel.getId()
    });
    model.executionCount = reply?.content.execution_count ?? null;
    success = reply?.content.status === 'ok';
  } catch {
    success = false; // the kernel restarted or the cell was cleared meanwhile
  }
  model.executionState = 'idle';
  options.onCellExecuted({ cell, success });
  return success;
}

/**
 * Gives notebook kernels `ddp` (push, pull, run) and what Ddip's line magics call, once per kernel
 * start: code from the jupyter-ddp server, run silently.
 */
export class KernelClients {
  private readonly _installed = new WeakMap<Kernel.IKernelConnection, Promise<void>>();
  private readonly _watched = new WeakSet<Kernel.IKernelConnection>();

  constructor(private readonly _api: DdpApi) {}

  /** Resolves once the session's kernel has the client (or there is no kernel or no server). */
  ensure(context: ISessionContext | undefined): Promise<void> {
    const kernel = context?.session?.kernel;
    if (!kernel) {
      return Promise.resolve();
    }
    let done = this._installed.get(kernel);
    if (!done) {
      done = this._api.kernelClient().then(
        async info => {
          await kernel.requestExecute({ code: info.code, silent: true, store_history: false }).done;
        },
        () => undefined // no jupyter-ddp server: the magics will say what is missing
      );
      this._installed.set(kernel, done);
    }
    if (!this._watched.has(kernel)) {
      this._watched.add(kernel);
      // A restarted kernel (same connection) has lost it.
      kernel.statusChanged.connect((k, status) => {
        if (status === 'restarting' || status === 'autorestarting') {
          this._installed.delete(k);
        }
      });
    }
    return done;
  }
}

import type { ICodeCell, IError, INotebookContent, IOutput } from '@jupyterlab/nbformat';
import type { PartialJSONObject } from '@lumino/coreutils';
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  ExecutionSummary,
  isOutputMsgType,
  OutputEvent,
  StartGroupRequest
} from '../../src/protocol/api';
import { CellMode, cellMode, withRanksCount } from '../../src/protocol/cell-mode';
import { CellPlan, planCell, usageErrorOutput } from '../../src/protocol/cell-plan';
import { DirectiveHost, GroupShape, performDirectives } from '../../src/protocol/directives';
import { isMagicError, MagicError } from '../../src/protocol/magics';
import {
  ddpCellOutputs,
  failureOutput,
  OutputAccumulator,
  RankView
} from '../../src/protocol/outputs';
import { plainTexts } from '../../src/protocol/texts';
import { DdpGroup } from '../group/group';
import { KernelApi, kernelClientCode, serveKernelApi } from '../http/kernel-api';
import { findPython } from '../jupyter/python';
import { createRuntimeDir } from '../kernel/connection';
import { Kernel } from '../kernel/kernel';
import { getKernelSpec } from '../kernel/kernelspec';
import { JupyterMessage, parentId } from '../kernel/message';
import { removeStaleTransferFiles } from '../process/stale-transfers';

export interface RunOptions {
  input: string;
  output: string;
  /** How the DDP group starts (ranks, gpus); started only if some cell needs it. */
  group: StartGroupRequest;
  /** Per-cell limit; the cell is interrupted and the run fails when it is exceeded. */
  timeoutSeconds?: number;
  /** Progress lines, one per cell. */
  log: (line: string) => void;
  /**
   * Aborted on Ctrl+C or SIGTERM, with a string reason ("interrupted (Ctrl+C)"): the running cell
   * is stopped as at a timeout, and the run ends there.
   */
  signal?: AbortSignal;
}

/** After an interrupt, how long a cell may take to end before its kernel or group is ended. */
const STOP_GRACE_MS = 5000;
/** After its group is stopped, how long an execution's end may take to be reported. */
const END_WAIT_MS = 10_000;

export interface RunResult {
  ok: boolean;
  /** What failed, naming the cell and the rank, when `ok` is false. */
  failure?: string;
}

interface CellRun {
  outputs: IOutput[];
  executionCount: number | null;
  /** Why the cell failed, or null. */
  failure: string | null;
}

/**
 * `jupyter-ddp run`: execute a notebook's code cells in order, local cells in a kernel of the
 * notebook's own kernelspec and DDP cells on a group started for the run, writing every output
 * into the output notebook after each cell. Whatever happens, every process it started is ended.
 */
export async function runNotebook(options: RunOptions): Promise<RunResult> {
  const notebook = readNotebook(options.input);
  const dir = path.dirname(path.resolve(options.input));
  const runtimeDir = createRuntimeDir();
  const runner = new NotebookRunner(notebook, dir, runtimeDir, options);
  try {
    return await runner.run();
  } finally {
    await runner.close();
    fs.rmSync(runtimeDir, { recursive: true, force: true });
    removeStaleTransferFiles(); // of kernels killed mid-transfer
  }
}

export function readNotebook(file: string): INotebookContent {
  let notebook: INotebookContent;
  try {
    notebook = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read notebook ${file}: ${(err as Error).message}`);
  }
  if (notebook?.nbformat !== 4 || !Array.isArray(notebook.cells)) {
    throw new Error(`${file} is not an nbformat 4 notebook`);
  }
  return notebook;
}

class NotebookRunner {
  private _local: Kernel | null = null;
  /** The run's group once made (groupObject); started only when a cell needs it. */
  private _group: DdpGroup | null = null;
  private _groupMade: Promise<DdpGroup> | null = null;
  private _localListener: ((msg: JupyterMessage) => void) | null = null;
  private readonly _ddpEvents = new Map<string, OutputEvent[]>();
  private readonly _ddpDone = new Map<string, (summary: ExecutionSummary) => void>();
  /** The last summary of each running execution: which ranks have finished. */
  private readonly _ddpLatest = new Map<string, ExecutionSummary>();
  /** The group's start, while it starts (a cell and the local kernel's `ddp` may both ask). */
  private _groupStart: Promise<DdpGroup> | null = null;
  /** While a cell's code runs (bounded() then handles a Ctrl+C). */
  private _executing = false;
  /** The group routes for the local kernel's `ddp` client, once it has one. */
  private _kernelApi: KernelApi | null = null;
  /** The last `%makedip -g/-c` shape: every start of the group from then on takes it. */
  private _shape: GroupShape = {};

  constructor(
    private readonly _notebook: INotebookContent,
    private readonly _dir: string,
    private readonly _runtimeDir: string,
    private readonly _options: RunOptions
  ) {
    // A Ctrl+C while nothing runs (a kernel or the group starting): end what would be waited for.
    _options.signal?.addEventListener('abort', () => {
      if (!this._executing) {
        void this._endAll();
      }
    });
  }

  async run(): Promise<RunResult> {
    const cells = this._notebook.cells;
    const codeCells = cells.filter(c => c.cell_type === 'code').length;
    let done = 0;
    for (const [index, cell] of cells.entries()) {
      if (cell.cell_type !== 'code') {
        continue;
      }
      // As the UI plans it; whose outputs a DDP cell shows by default: rank 0's.
      const plan = planCell(
        sourceOf(cell as ICodeCell),
        cell.metadata,
        this._notebook.metadata,
        'rank0'
      );
      const started = Date.now();
      let result: CellRun;
      try {
        result = await this._cell(plan);
      } catch (err) {
        // Whatever failed (a group that would not start, a Ctrl+C meanwhile) is the cell's.
        const reason = this._stopReason() ?? (err as Error).message;
        result = { outputs: [runError(reason)], executionCount: null, failure: reason };
      }
      // A refused cell ran nowhere: its log line says where its mark alone would run it.
      const mode = isMagicError(plan)
        ? cellMode(cell.metadata, this._notebook.metadata)
        : plan.mode;
      const codeCell = cell as ICodeCell;
      codeCell.outputs = result.outputs;
      codeCell.execution_count = result.executionCount;
      // As the UI does: a DDP cell's count is the ranks', and its prompt reads [rN].
      const ddp = withRanksCount(
        codeCell.metadata.ddp as Record<string, unknown> | undefined,
        mode === 'ddp' ? result.executionCount : null
      );
      if (ddp) {
        codeCell.metadata.ddp = ddp as PartialJSONObject;
      } else {
        delete codeCell.metadata.ddp;
      }
      this._save();
      done++;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const where = `cell ${index + 1} [${mode}]`;
      if (result.failure) {
        const failure = `${where} failed ${result.failure}`;
        this._options.log(`${done}/${codeCells} ${failure} (${seconds} s)`);
        return { ok: false, failure };
      }
      this._options.log(`${done}/${codeCells} ${where} ok (${seconds} s)`);
    }
    return { ok: true };
  }

  async close(): Promise<void> {
    await Promise.all([this._group?.stop(), this._local?.shutdown(), this._kernelApi?.close()]);
  }

  private async _cell(plan: CellPlan | MagicError): Promise<CellRun> {
    if (isMagicError(plan)) {
      return usageError(plan.error);
    }
    const stopped = this._stopReason();
    if (stopped) {
      return { outputs: [runError(stopped)], executionCount: null, failure: stopped };
    }
    let said: string[];
    try {
      said = await performDirectives(plan.directives, this._directiveHost(), plainTexts);
    } catch (err) {
      if (this._stopReason()) {
        throw err; // a Ctrl+C meanwhile: the run's own error, below
      }
      // As in the UI: what the group would not do is the cell's usage error; nothing of it runs.
      return usageError((err as Error).message);
    }
    if (plan.usesClient) {
      await this._ddpGroup(); // %dipush and %dipull need the ranks: started before the clock runs
    }
    const result = await this._runCell(plan.code, plan.mode, plan.view);
    if (said.length > 0) {
      result.outputs.push({ output_type: 'stream', name: 'stdout', text: said.join('\n') + '\n' });
    }
    return result;
  }

  /** Why the run was aborted (Ctrl+C, SIGTERM), or null. */
  private _stopReason(): string | null {
    return this._options.signal?.aborted ? String(this._options.signal.reason) : null;
  }

  /** End the group and the local kernel, now: whatever waits for them fails. */
  private async _endAll(): Promise<void> {
    await Promise.all([this._group?.stop(), this._local?.kill()]);
  }

  /** The run's side of Ddip's directives: its own group, and the notebook it writes. */
  private _directiveHost(): DirectiveHost {
    return {
      group: async () => (await this._groupObject()).info(),
      start: async shape => {
        if (Object.keys(shape).length > 0) {
          this._shape = shape; // a new -g/-c replaces the last, as in the UI
        }
        return (await this._ddpGroup()).info();
      },
      restart: async () => (await this._groupObject()).restart(),
      stop: async () => {
        const group = await this._groupObject();
        await group.stop();
        return group.info();
      },
      notebookDdp: () => this._notebook.metadata.ddp,
      setNotebookDdp: ddp => {
        if (ddp === undefined) {
          delete this._notebook.metadata.ddp;
        } else {
          this._notebook.metadata.ddp = ddp as PartialJSONObject;
        }
      }
    };
  }

  private _startRequest(): StartGroupRequest {
    // A run never restarts its group on its own: no warm spares.
    return {
      kernelName: this._kernelName(),
      spares: false,
      ...this._options.group,
      ...this._shape
    };
  }

  private async _runCell(code: string, mode: CellMode, view: RankView): Promise<CellRun> {
    if (mode === 'ddp') {
      return this._runDdp(code, view);
    }
    const local = await this._runLocal(code);
    if (mode === 'local' || local.failure) {
      return local;
    }
    const ranks = await this._runDdp(code, view);
    return {
      outputs: [...local.outputs, ...ranks.outputs],
      executionCount: local.executionCount,
      failure: ranks.failure
    };
  }

  private async _runLocal(code: string): Promise<CellRun> {
    const kernel = await this._localKernel();
    const accumulator = new OutputAccumulator();
    const { msgId, done } = kernel.execute(code);
    this._localListener = msg => {
      if (parentId(msg) === msgId && isOutputMsgType(msg.header.msg_type)) {
        accumulator.add(msg.header.msg_type, msg.content);
      }
    };
    // A cell that ignores the interrupt (C code, a wait on hung ranks) ends with its kernel.
    const { value: reply, stopped } = await this._bounded(
      done,
      () => kernel.interrupt(),
      () => kernel.kill()
    );
    this._localListener = null;
    const outputs = accumulator.outputs();
    if (stopped || !reply) {
      const failure = `locally: ${stopped ?? 'the kernel died'}`;
      return { outputs: [...outputs, runError(failure)], executionCount: null, failure };
    }
    const content = reply.content as {
      status: string;
      execution_count?: number;
      ename?: string;
      evalue?: string;
    };
    return {
      outputs,
      executionCount: content.execution_count ?? null,
      failure:
        content.status === 'ok'
          ? null
          : `locally: ${content.ename ?? content.status}: ${content.evalue ?? ''}`
    };
  }

  private async _runDdp(code: string, view: RankView): Promise<CellRun> {
    const group = await this._ddpGroup();
    const summary = group.execute({ code });
    const finished = new Promise<ExecutionSummary>(resolve =>
      this._ddpDone.set(summary.id, resolve)
    );
    this._ddpLatest.set(summary.id, summary);
    // Ranks in a collective ignore the interrupt: the group is stopped to free them.
    let stuck: number[] = [];
    const { value, stopped } = await this._bounded(
      finished,
      () => group.interrupt(),
      () => {
        const latest = this._ddpLatest.get(summary.id)!;
        stuck = latest.ranks.filter(rank => latest.rankStatus[rank] === undefined);
        return group.stop();
      }
    );
    const final = value ?? this._ddpLatest.get(summary.id)!;
    this._ddpLatest.delete(summary.id);
    const events = this._ddpEvents.get(summary.id) ?? [];
    this._ddpEvents.delete(summary.id);
    const outputs = ddpCellOutputs(events, view);
    const executionCount = final.executionCount[0] ?? null;
    if (stopped) {
      const why =
        stuck.length > 0
          ? `${stopped}; ${ranksNamed(stuck)} did not end within ${STOP_GRACE_MS / 1000} s of ` +
            'the interrupt (a collective ignores interrupts), so the group was stopped'
          : stopped;
      outputs.push(failureOutput({ ...final, failure: why, failedRank: undefined })!);
      return { outputs, executionCount, failure: `on the ranks: ${why}` };
    }
    const failed = failureOutput(final); // a rank died: which, how, its last words
    if (failed) {
      outputs.push(failed);
    }
    return { outputs, executionCount, failure: ddpFailure(final, events) };
  }

  /**
   * Wait for a cell's end. At the --timeout, or on a Ctrl+C, interrupt it and give it
   * STOP_GRACE_MS to end (its traceback then lands in the outputs), else `end` it. Gives its end
   * (null when it never came, as when `end` killed its kernel) and why it was stopped, if it was.
   */
  private async _bounded<T>(
    done: Promise<T>,
    interrupt: () => Promise<void>,
    end: () => Promise<void>
  ): Promise<{ value: T | null; stopped: string | null }> {
    this._executing = true;
    const stop = this._stopRequest();
    try {
      const first = await Promise.race([
        done.then(value => ({ value, stopped: null })),
        stop.reason.then(reason => ({ value: null, stopped: reason }))
      ]);
      if (first.stopped === null) {
        return first;
      }
      await interrupt().catch(() => undefined);
      let value = await settledWithin(done, STOP_GRACE_MS);
      if (value === null) {
        await end().catch(() => undefined);
        value = await settledWithin(done, END_WAIT_MS);
      }
      return { value, stopped: first.stopped };
    } finally {
      stop.cancel();
      this._executing = false;
    }
  }

  /** Resolves with why the running cell must stop: its --timeout passed, or the run was aborted. */
  private _stopRequest(): { reason: Promise<string>; cancel: () => void } {
    const signal = this._options.signal;
    const seconds = this._options.timeoutSeconds;
    let timer: NodeJS.Timeout | undefined;
    let onAbort = () => undefined as void;
    const reason = new Promise<string>(resolve => {
      if (seconds) {
        timer = setTimeout(() => resolve(`timed out after ${seconds} s`), seconds * 1000);
      }
      onAbort = () => resolve(String(signal!.reason));
      if (signal?.aborted) {
        onAbort();
      }
      signal?.addEventListener('abort', onAbort);
    });
    return {
      reason,
      cancel: () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    };
  }

  private async _localKernel(): Promise<Kernel> {
    if (!this._local) {
      const spec = await getKernelSpec(this._kernelName());
      this._local = await Kernel.start({
        spec,
        label: 'local kernel',
        runtimeDir: this._runtimeDir,
        cwd: this._dir,
        env: {},
        python: await this._python(),
        onIopub: msg => this._localListener?.(msg),
        signal: this._options.signal
      });
      // `ddp` and Ddip's line magics, as in the UI, against the run's own group, which the
      // first call starts (should it fail to start, the call says why the group is not running).
      this._kernelApi = await serveKernelApi(
        {
          get: name => (name === 'run' ? (this._group ?? undefined) : undefined),
          names: () => ['run']
        },
        () =>
          this._ddpGroup().then(
            () => undefined,
            () => undefined
          )
      );
      await this._local.evaluate(
        kernelClientCode(this._kernelApi.url, this._kernelApi.key, 'run'),
        "''"
      );
    }
    return this._local;
  }

  /** The run's group, started if it is not (once at a time, whoever asks). */
  private _ddpGroup(): Promise<DdpGroup> {
    this._groupStart ??= this._startGroup().finally(() => (this._groupStart = null));
    return this._groupStart;
  }

  /** Starts the group when it is stopped (never started yet, or after a `%makedip -k`). */
  private async _startGroup(): Promise<DdpGroup> {
    const group = await this._groupObject();
    if (group.info().state === 'stopped') {
      this._options.log('starting the DDP group...');
      const info = await group.start(this._startRequest());
      this._options.log(
        `DDP group ready: ${info.worldSize} x ${info.device?.toUpperCase()} (${info.backend ?? 'no process group'})`
      );
      for (const notice of info.notices) {
        this._options.log(notice);
      }
    }
    return group;
  }

  /** The run's group, made (not started) once, whoever asks first. */
  private _groupObject(): Promise<DdpGroup> {
    this._groupMade ??= this._python().then(
      python =>
        (this._group = new DdpGroup(
          'run',
          { rootDir: this._dir, runtimeDir: this._runtimeDir, python },
          {
            group: () => undefined,
            output: event => {
              const list = this._ddpEvents.get(event.execution) ?? [];
              list.push(event);
              this._ddpEvents.set(event.execution, list);
            },
            execution: summary => {
              if (this._ddpLatest.has(summary.id)) {
                this._ddpLatest.set(summary.id, summary);
              }
              if (summary.status !== 'running') {
                this._ddpDone.get(summary.id)?.(summary);
                this._ddpDone.delete(summary.id);
              }
            }
          }
        ))
    );
    return this._groupMade;
  }

  private _kernelName(): string {
    return this._notebook.metadata?.kernelspec?.name ?? 'python3';
  }

  private async _python(): Promise<string> {
    const python = await findPython([]);
    if (!python) {
      throw new Error('no Python 3 found for the process guard; set JUPYTER_DDP_PYTHON');
    }
    return python;
  }

  private _save(): void {
    fs.writeFileSync(this._options.output, JSON.stringify(this._notebook, null, 1) + '\n');
  }
}

/** A cell whose magics are wrong: it runs nothing, and the run stops there. */
function usageError(message: string): CellRun {
  return {
    outputs: [usageErrorOutput(message)],
    executionCount: null,
    failure: `UsageError: ${message}`
  };
}

/** Why the run stopped in this cell, in the cell: a timeout, a Ctrl+C, what would not start. */
function runError(message: string): IError {
  return {
    output_type: 'error',
    ename: 'JupyterDdpRunError',
    evalue: message,
    traceback: [message]
  };
}

/** The promise's value, or null if it rejects or takes longer than `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>(resolve => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([promise.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}

function ranksNamed(ranks: number[]): string {
  return `rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')}`;
}

function sourceOf(cell: ICodeCell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** "on rank 1: ValueError: bad rank", or why the group failed; null when every rank succeeded. */
function ddpFailure(summary: ExecutionSummary, events: OutputEvent[]): string | null {
  if (summary.status === 'ok') {
    return null;
  }
  if (summary.failure) {
    return `on the ranks: ${summary.failure}`;
  }
  const failed = summary.ranks.filter(r => summary.rankStatus[r] !== 'ok');
  const error = events.find(e => e.msgType === 'error' && failed.includes(e.rank));
  const what = error ? `${error.content.ename}: ${error.content.evalue}` : summary.status;
  return `on ${ranksNamed(failed)}: ${what}`;
}

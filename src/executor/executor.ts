import { showErrorMessage } from '@jupyterlab/apputils';
import { CodeCell, ICodeCellModel } from '@jupyterlab/cells';
import type { IError, IOutput } from '@jupyterlab/nbformat';
import {
  INotebookCellExecutor,
  INotebookModel,
  NotebookPanel,
  runCell as runLocally
} from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { IDdpClient } from '../client/tokens';
import { IDdpGroupManager } from '../group/tokens';
import { IDdpExecutions } from '../panel/tokens';
import { IDdpFeeds } from '../outputs/tokens';
import { DEFAULT_GROUP, ExecutionSummary } from '../protocol/api';
import { planCell, rankViewOf, usageErrorOutput } from '../protocol/cell-plan';
import { performDirectives } from '../protocol/directives';
import { isMagicError } from '../protocol/magics';
import { failureOutput, RankView } from '../protocol/outputs';
import { CellQueue } from './cell-queue';
import { notebookDirectiveHost } from './directives';
import { KernelClients, runLocalCode, runSource } from './local-run';
import { NoticeView } from './notice-view';
import { cellNotices, needsTicking } from './notices';
import { forgetRanksCount, setRanksCount } from './prompt';
import { CellOutputs } from './rank-outputs';
import { Ticker } from './ticker';

export interface ExecutorSettings {
  /** Whose outputs DDP cells show by default. */
  showRanks: 'rank0' | 'all';
  /** Stream characters a cell shows at most; the rest is cut from the front. */
  maxCellOutputChars: number;
}

type RunOptions = INotebookCellExecutor.IRunCellOptions;

interface AttachOptions {
  /** Outputs kept above the ranks' (an everywhere cell's local ones). */
  before: IOutput[];
  notebookPath: string | undefined;
  /** Whether the cell takes the ranks' execution count. */
  setCount: boolean;
  view: RankView;
  /** The summary came over the socket, ahead of every output it does not count. */
  viaSocket: boolean;
}

/**
 * Runs every code cell where its mode says: local cells through JupyterLab's own `runCell`, DDP
 * cells on the ranks, everywhere cells locally then on the ranks, one at a time in notebook order
 * (see `CellQueue`).
 */
export class DdpCellExecutor implements INotebookCellExecutor {
  private readonly _queue = new CellQueue<INotebookModel>();
  private readonly _running = new Set<string>();
  private readonly _kernelClients: KernelClients;
  /** Brings the notices of cells whose notices count seconds up to date. */
  private readonly _ticker = new Ticker();

  constructor(
    private readonly _client: IDdpClient,
    private readonly _groups: IDdpGroupManager,
    /** The executions' outputs, shared with the rank output panel. */
    private readonly _feeds: IDdpFeeds,
    private readonly _settings: () => ExecutorSettings,
    private readonly _trans: TranslationBundle,
    /** Told which execution ran each cell, for the rank output panel. */
    private readonly _executions: IDdpExecutions | null = null
  ) {
    this._kernelClients = new KernelClients(_client.api);
  }

  /** True while some DDP execution of this tab runs (the interrupt button then reaches the ranks). */
  get isRunningOnRanks(): boolean {
    return this._running.size > 0;
  }

  runCell(options: RunOptions): Promise<boolean> {
    const { notebook, cell } = options;
    if (cell.model.type !== 'code') {
      return runLocally(options);
    }
    const model = cell.model as ICodeCellModel;
    model.executionState = 'running';
    return this._queue.add(notebook, {
      cell,
      run: () => this._runNow(options).catch(err => this._failUnexpectedly(options, err)),
      skipped: () => (model.executionState = 'idle')
    });
  }

  private async _runNow(options: RunOptions): Promise<boolean> {
    const model = options.cell.model as ICodeCellModel;
    // Whatever count this run leaves is the notebook kernel's, unless the ranks set theirs.
    forgetRanksCount(model);
    const source = model.sharedModel.getSource();
    const plan = planCell(
      source,
      { ddp: model.getMetadata('ddp') },
      { ddp: options.notebook.getMetadata('ddp') },
      this._settings().showRanks
    );
    if (isMagicError(plan)) {
      return this._refuse(options, plan.error);
    }
    let said: string[];
    try {
      const host = notebookDirectiveHost(
        options.notebook,
        this._client.api,
        this._groups,
        this._kernelName(options)
      );
      said = await performDirectives(plan.directives, host, this._trans);
    } catch (err) {
      return this._refuse(options, (err as Error).message);
    }
    const { mode, code, view } = plan;
    let ok = true;
    if (mode !== 'ddp') {
      await this._kernelClients.ensure(options.sessionContext);
      ok = code === source ? await runSource(options) : await runLocalCode(options, code);
    }
    if (ok && mode !== 'local') {
      ok = await this._runOnRanks(options, mode === 'everywhere', code, view);
    }
    if (said.length > 0) {
      model.outputs.add({ output_type: 'stream', name: 'stdout', text: said.join('\n') + '\n' });
    }
    return ok;
  }

  /**
   * A cell whose magics or metadata are wrong (or whose `%makedip` the group refused) runs
   * nothing; the error says what is wrong, in the cell.
   */
  private _refuse(options: RunOptions, message: string): boolean {
    const model = options.cell.model as ICodeCellModel;
    model.sharedModel.transact(() => model.clearExecution(), false);
    return this._endFailed(options, usageErrorOutput(message));
  }

  /** A bug, or a failure nothing above expected: logged, and said in the cell, which fails. */
  private _failUnexpectedly(options: RunOptions, err: unknown): boolean {
    console.error('jupyter-ddp: running a cell failed unexpectedly', err);
    const error = err instanceof Error ? err : new Error(String(err));
    return this._endFailed(options, {
      output_type: 'error',
      ename: error.name,
      evalue: error.message,
      traceback: [
        `\u001b[0;31m${error.name}\u001b[0m: ${error.message}`,
        this._trans.__('jupyter-ddp could not run this cell; the browser console has the details.')
      ]
    });
  }

  /** End the cell as failed, with `error` as its last output. */
  private _endFailed(options: RunOptions, error: IError): boolean {
    const cell = options.cell as CodeCell;
    const model = cell.model;
    model.outputs.add(error);
    model.executionState = 'idle';
    options.onCellExecuted({ cell, success: false });
    return false;
  }

  private _kernelName(options: RunOptions): string | undefined {
    return (
      options.sessionContext?.session?.kernel?.name ??
      (options.notebook.getMetadata('kernelspec') as { name?: string } | undefined)?.name
    );
  }

  /** Run the cell on the ranks; `append` keeps the outputs a local run just produced. */
  private async _runOnRanks(
    options: RunOptions,
    append: boolean,
    code: string,
    view: RankView
  ): Promise<boolean> {
    const cell = options.cell as CodeCell;
    const model = cell.model;
    if (!(await this._groups.ensureRunning(this._kernelName(options)))) {
      model.executionState = 'idle';
      return false;
    }
    options.onCellExecutionScheduled({ cell });
    const before: IOutput[] = append ? model.outputs.toJSON() : [];
    if (!append) {
      model.sharedModel.transact(() => model.clearExecution(), false);
    }
    cell.outputHidden = false;
    model.executionState = 'running';
    const started = new Date().toISOString();

    const notebookPath = options.sessionContext?.path;
    const viaSocket = this._client.connection.isOpen;
    let summary: ExecutionSummary;
    try {
      const request = {
        code,
        ...(notebookPath ? { cell: { notebook: notebookPath, cellId: model.id } } : {})
      };
      // Over the WebSocket when it is open (no HTTP request a cell), else over REST.
      summary = await (viaSocket
        ? this._client.connection.execute(DEFAULT_GROUP, request)
        : this._client.api.execute(request));
    } catch (err) {
      model.executionState = 'idle';
      await showErrorMessage(
        this._trans.__('Could not run the cell on the ranks'),
        (err as Error).message
      );
      options.onCellExecuted({ cell, success: false });
      return false;
    }
    const final = await this._attach(cell, summary, {
      before,
      notebookPath,
      setCount: !append,
      view,
      viaSocket
    });
    if (options.notebookConfig.recordTiming) {
      model.setMetadata('execution', {
        ...((model.getMetadata('execution') as object) ?? {}),
        'ddp.started': started,
        'ddp.finished': new Date().toISOString()
      });
    }
    // A failure is in the cell's outputs: no dialog here, which would hold up the queued cells.
    const success = final.status === 'ok';
    options.onCellExecuted({ cell, success });
    return success;
  }

  /**
   * Show an execution's outputs in its cell as they arrive, and its execution count once it ends.
   * `before` are outputs to keep above the ranks' (an everywhere cell's local ones); such a cell
   * keeps its local execution count (`setCount` false).
   */
  private async _attach(
    cell: CodeCell,
    summary: ExecutionSummary,
    { before, notebookPath, setCount, view, viaSocket }: AttachOptions
  ): Promise<ExecutionSummary> {
    const model = cell.model;
    this._running.add(summary.id);
    // Held before the panel hears of the cell, so that it shows this feed rather than fetch.
    const hold = this._feeds.open(summary.id, summary, viaSocket);
    const feed = hold.feed;
    this._executions?.set(model.id, summary.id, notebookPath);
    const outputs = new CellOutputs(model.outputs, before, view, {
      cut: this._trans.__('[jupyter-ddp: earlier output was cut to keep the page responsive]'),
      missed: count =>
        this._trans._n(
          '[jupyter-ddp: %1 earlier output was dropped: the server no longer had it]',
          '[jupyter-ddp: %1 earlier outputs were dropped: the server no longer had them]',
          count
        )
    });
    // Why the execution did not finish on every rank, saved with the cell's outputs.
    let after: IOutput[] = [];
    const render = () =>
      outputs.write(feed.outputs, {
        ranks: summary.ranks,
        maxChars: this._settings().maxCellOutputChars,
        after
      });
    model.executionState = 'running';
    const notices = this._showNotices(cell, summary);
    const onState = () => {
      if (feed.summary?.status === 'running') {
        notices.update(feed.summary);
      }
    };
    feed.outputsChanged.connect(render);
    feed.stateChanged.connect(onState);
    let final = await feed.ended;
    feed.outputsChanged.disconnect(render);
    feed.stateChanged.disconnect(onState);
    if (feed.lost && final.status === 'running') {
      // The server no longer knows it (it restarted, or forgot it): it will never end.
      final = {
        ...final,
        status: 'aborted',
        failure: this._trans.__('the DDP server no longer knows this execution (it restarted?)')
      };
    }
    notices.dispose();
    this._running.delete(summary.id);
    after = [failureOutput(final)].filter(o => o !== null);
    render();
    hold.dispose();
    if (setCount) {
      const mainRank = summary.ranks.includes(0) ? 0 : Math.min(...summary.ranks);
      model.executionCount = final.executionCount[mainRank] ?? null;
      setRanksCount(model, model.executionCount);
    }
    model.executionState = 'idle';
    return final;
  }

  /**
   * Keep the cell's notices (the group's problems with its ranks, a straggler, an ignored
   * interrupt) in step with the newest summary, the group, and the clock while they count seconds.
   */
  private _showNotices(
    cell: CodeCell,
    first: ExecutionSummary
  ): { update: (summary: ExecutionSummary) => void; dispose: () => void } {
    const { connection } = this._client;
    const view = new NoticeView(this._trans, () => void this._groups.restart());
    view.mount(cell);
    let summary = first;
    const refresh = () => {
      view.setNotices(
        cellNotices(summary, connection.group?.problems ?? [], connection.serverNow(), this._trans)
      );
      this._ticker.set(refresh, needsTicking(summary));
    };
    const onGroup = () => refresh();
    connection.groupChanged.connect(onGroup);
    refresh();
    return {
      update: next => {
        summary = next;
        refresh();
      },
      dispose: () => {
        connection.groupChanged.disconnect(onGroup);
        this._ticker.set(refresh, false);
        view.dispose();
      }
    };
  }

  /**
   * After a page reload, find this notebook's cells that ran on the ranks meanwhile: those still
   * running show what was produced so far, then live output, until they finish; those that
   * finished while the page was away get their outputs if the saved notebook has none.
   */
  async reattach(panel: NotebookPanel): Promise<void> {
    let executions: ExecutionSummary[];
    try {
      executions = await this._client.api.executions();
    } catch {
      return; // no jupyter-ddp server
    }
    const latest = new Map<string, ExecutionSummary>();
    for (const summary of executions) {
      if (summary.cell?.notebook === panel.context.path) {
        latest.set(summary.cell.cellId, summary); // oldest first: the last one wins
      }
    }
    for (const cell of panel.content.widgets) {
      const summary = latest.get(cell.model.id);
      if (!summary || !(cell instanceof CodeCell) || this._running.has(summary.id)) {
        continue;
      }
      const unsaved = cell.model.executionCount === null && cell.model.outputs.length === 0;
      if (summary.status === 'running' || unsaved) {
        void this._attach(cell, summary, {
          before: [],
          notebookPath: panel.context.path,
          setCount: true,
          view: this._viewOf(cell.model, panel.model),
          viaSocket: false
        });
      }
    }
  }

  /**
   * The cell's own choice (`ddp.show` in its metadata), the notebook's (`%autodip on --see`), or
   * the default setting.
   */
  private _viewOf(model: ICodeCellModel, notebook: INotebookModel | null): RankView {
    return rankViewOf(
      { ddp: model.getMetadata('ddp') },
      { ddp: notebook?.getMetadata('ddp') },
      this._settings().showRanks
    );
  }
}

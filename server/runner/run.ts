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
  private local: Kernel | null = null;
  /** The run's group once made (groupObject); started only when a cell needs it. */
  private group: DdpGroup | null = null;
  private groupMade: Promise<DdpGroup> | null = null;
  private localListener: ((msg: JupyterMessage) => void) | null = null;
  private readonly ddpEvents = new Map<string, OutputEvent[]>();
  private readonly ddpDone = new Map<string, (summary: ExecutionSummary) => void>();
  /** The last summary of each running execution: which ranks have finished. */
  private readonly ddpLatest = new Map<string, ExecutionSummary>();
  /** The group's start, while it starts (a cell and the local kernel's `ddp` may both ask). */
  private groupStart: Promise<DdpGroup> | null = null;
  /** While a cell's code runs (bounded() then handles a Ctrl+C). */
  private executing = false;
  /** The group routes for the local kernel's `ddp` client, once it has one. */
  private kernelApi: KernelApi | null = null;
  /** The last `%makedip -g/-c` shape: every start of the group from then on takes it. */
  private shape: GroupShape = {};

  constructor(
    private readonly notebook: INotebookContent,
    private readonly dir: string,
    private readonly runtimeDir: string,
    private readonly options: RunOptions
  ) {
    // A Ctrl+C while nothing runs (a kernel or the group starting): end what would be waited for.
    options.signal?.addEventListener('abort', () => {
      if (!this.executing) {
        void this.endAll();
      }
    });
  }

  async run(): Promise<RunResult> {
    const cells = this.notebook.cells;
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
        this.notebook.metadata,
        'rank0'
      );
      const started = Date.now();
      let result: CellRun;
      try {
        result = await this.cell(plan);
      } catch (err) {
        // Whatever failed (a group that would not start, a Ctrl+C meanwhile) is the cell's.
        const reason = this.stopReason() ?? (err as Error).message;
        result = { outputs: [runError(reason)], executionCount: null, failure: reason };
      }
      // A refused cell ran nowhere: its log line says where its mark alone would run it.
      const mode = isMagicError(plan) ? cellMode(cell.metadata, this.notebook.metadata) : plan.mode;
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
      this.save();
      done++;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const where = `cell ${index + 1} [${mode}]`;
      if (result.failure) {
        const failure = `${where} failed ${result.failure}`;
        this.options.log(`${done}/${codeCells} ${failure} (${seconds} s)`);
        return { ok: false, failure };
      }
      this.options.log(`${done}/${codeCells} ${where} ok (${seconds} s)`);
    }
    return { ok: true };
  }

  async close(): Promise<void> {
    await Promise.all([this.group?.stop(), this.local?.shutdown(), this.kernelApi?.close()]);
  }

  private async cell(plan: CellPlan | MagicError): Promise<CellRun> {
    if (isMagicError(plan)) {
      return usageError(plan.error);
    }
    const stopped = this.stopReason();
    if (stopped) {
      return { outputs: [runError(stopped)], executionCount: null, failure: stopped };
    }
    let said: string[];
    try {
      said = await performDirectives(plan.directives, this.directiveHost(), plainTexts);
    } catch (err) {
      if (this.stopReason()) {
        throw err; // a Ctrl+C meanwhile: the run's own error, below
      }
      // As in the UI: what the group would not do is the cell's usage error; nothing of it runs.
      return usageError((err as Error).message);
    }
    if (plan.usesClient) {
      await this.ddpGroup(); // %dipush and %dipull need the ranks: started before the clock runs
    }
    const result = await this.runCell(plan.code, plan.mode, plan.view);
    if (said.length > 0) {
      result.outputs.push({ output_type: 'stream', name: 'stdout', text: said.join('\n') + '\n' });
    }
    return result;
  }

  /** Why the run was aborted (Ctrl+C, SIGTERM), or null. */
  private stopReason(): string | null {
    return this.options.signal?.aborted ? String(this.options.signal.reason) : null;
  }

  /** End the group and the local kernel, now: whatever waits for them fails. */
  private async endAll(): Promise<void> {
    await Promise.all([this.group?.stop(), this.local?.kill()]);
  }

  /** The run's side of Ddip's directives: its own group, and the notebook it writes. */
  private directiveHost(): DirectiveHost {
    return {
      group: async () => (await this.groupObject()).info(),
      start: async shape => {
        if (Object.keys(shape).length > 0) {
          this.shape = shape; // a new -g/-c replaces the last, as in the UI
        }
        return (await this.ddpGroup()).info();
      },
      restart: async () => (await this.groupObject()).restart(),
      stop: async () => {
        const group = await this.groupObject();
        await group.stop();
        return group.info();
      },
      notebookDdp: () => this.notebook.metadata.ddp,
      setNotebookDdp: ddp => {
        if (ddp === undefined) {
          delete this.notebook.metadata.ddp;
        } else {
          this.notebook.metadata.ddp = ddp as PartialJSONObject;
        }
      }
    };
  }

  private startRequest(): StartGroupRequest {
    // A run never restarts its group on its own: no warm spares.
    return { kernelName: this.kernelName(), spares: false, ...this.options.group, ...this.shape };
  }

  private async runCell(code: string, mode: CellMode, view: RankView): Promise<CellRun> {
    if (mode === 'ddp') {
      return this.runDdp(code, view);
    }
    const local = await this.runLocal(code);
    if (mode === 'local' || local.failure) {
      return local;
    }
    const ranks = await this.runDdp(code, view);
    return {
      outputs: [...local.outputs, ...ranks.outputs],
      executionCount: local.executionCount,
      failure: ranks.failure
    };
  }

  private async runLocal(code: string): Promise<CellRun> {
    const kernel = await this.localKernel();
    const accumulator = new OutputAccumulator();
    const { msgId, done } = kernel.execute(code);
    this.localListener = msg => {
      if (parentId(msg) === msgId && isOutputMsgType(msg.header.msg_type)) {
        accumulator.add(msg.header.msg_type, msg.content);
      }
    };
    // A cell that ignores the interrupt (C code, a wait on hung ranks) ends with its kernel.
    const { value: reply, stopped } = await this.bounded(
      done,
      () => kernel.interrupt(),
      () => kernel.kill()
    );
    this.localListener = null;
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

  private async runDdp(code: string, view: RankView): Promise<CellRun> {
    const group = await this.ddpGroup();
    const summary = group.execute({ code });
    const finished = new Promise<ExecutionSummary>(resolve =>
      this.ddpDone.set(summary.id, resolve)
    );
    this.ddpLatest.set(summary.id, summary);
    // Ranks in a collective ignore the interrupt: the group is stopped to free them.
    let stuck: number[] = [];
    const { value, stopped } = await this.bounded(
      finished,
      () => group.interrupt(),
      () => {
        const latest = this.ddpLatest.get(summary.id)!;
        stuck = latest.ranks.filter(rank => latest.rankStatus[rank] === undefined);
        return group.stop();
      }
    );
    const final = value ?? this.ddpLatest.get(summary.id)!;
    this.ddpLatest.delete(summary.id);
    const events = this.ddpEvents.get(summary.id) ?? [];
    this.ddpEvents.delete(summary.id);
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
  private async bounded<T>(
    done: Promise<T>,
    interrupt: () => Promise<void>,
    end: () => Promise<void>
  ): Promise<{ value: T | null; stopped: string | null }> {
    this.executing = true;
    const stop = this.stopRequest();
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
      this.executing = false;
    }
  }

  /** Resolves with why the running cell must stop: its --timeout passed, or the run was aborted. */
  private stopRequest(): { reason: Promise<string>; cancel: () => void } {
    const signal = this.options.signal;
    const seconds = this.options.timeoutSeconds;
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

  private async localKernel(): Promise<Kernel> {
    if (!this.local) {
      const spec = await getKernelSpec(this.kernelName());
      this.local = await Kernel.start({
        spec,
        label: 'local kernel',
        runtimeDir: this.runtimeDir,
        cwd: this.dir,
        env: {},
        python: await this.python(),
        onIopub: msg => this.localListener?.(msg),
        signal: this.options.signal
      });
      // `ddp` and Ddip's line magics, as in the UI, against the run's own group, which the
      // first call starts (should it fail to start, the call says why the group is not running).
      this.kernelApi = await serveKernelApi(
        {
          get: name => (name === 'run' ? (this.group ?? undefined) : undefined),
          names: () => ['run']
        },
        () =>
          this.ddpGroup().then(
            () => undefined,
            () => undefined
          )
      );
      await this.local.evaluate(
        kernelClientCode(this.kernelApi.url, this.kernelApi.key, 'run'),
        "''"
      );
    }
    return this.local;
  }

  /** The run's group, started if it is not (once at a time, whoever asks). */
  private ddpGroup(): Promise<DdpGroup> {
    this.groupStart ??= this.startGroup().finally(() => (this.groupStart = null));
    return this.groupStart;
  }

  /** Starts the group when it is stopped (never started yet, or after a `%makedip -k`). */
  private async startGroup(): Promise<DdpGroup> {
    const group = await this.groupObject();
    if (group.info().state === 'stopped') {
      this.options.log('starting the DDP group...');
      const info = await group.start(this.startRequest());
      this.options.log(
        `DDP group ready: ${info.worldSize} x ${info.device?.toUpperCase()} (${info.backend ?? 'no process group'})`
      );
      for (const notice of info.notices) {
        this.options.log(notice);
      }
    }
    return group;
  }

  /** The run's group, made (not started) once, whoever asks first. */
  private groupObject(): Promise<DdpGroup> {
    this.groupMade ??= this.python().then(
      python =>
        (this.group = new DdpGroup(
          'run',
          { rootDir: this.dir, runtimeDir: this.runtimeDir, python },
          {
            group: () => undefined,
            output: event => {
              const list = this.ddpEvents.get(event.execution) ?? [];
              list.push(event);
              this.ddpEvents.set(event.execution, list);
            },
            execution: summary => {
              if (this.ddpLatest.has(summary.id)) {
                this.ddpLatest.set(summary.id, summary);
              }
              if (summary.status !== 'running') {
                this.ddpDone.get(summary.id)?.(summary);
                this.ddpDone.delete(summary.id);
              }
            }
          }
        ))
    );
    return this.groupMade;
  }

  private kernelName(): string {
    return this.notebook.metadata?.kernelspec?.name ?? 'python3';
  }

  private async python(): Promise<string> {
    const python = await findPython([]);
    if (!python) {
      throw new Error('no Python 3 found for the process guard; set JUPYTER_DDP_PYTHON');
    }
    return python;
  }

  private save(): void {
    fs.writeFileSync(this.options.output, JSON.stringify(this.notebook, null, 1) + '\n');
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

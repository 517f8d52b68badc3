/**
 * Kernel output messages → nbformat 4 outputs, the way JupyterLab's output area stores them, and the
 * per-rank views of a DDP cell. Pure logic (no JupyterLab code at run time): this module loads in
 * both the browser and Node.
 */
import type {
  IDisplayData,
  IError,
  IExecuteResult,
  IMimeBundle,
  IOutput,
  IStream
} from '@jupyterlab/nbformat';

import type { ExecutionSummary, OutputEvent } from './api';
import {
  appendStream,
  isPlainObject,
  jsonCopy,
  OutputHandlers,
  routeOutput,
  textOf
} from './output-messages';

/** Whose outputs a cell shows: rank 0 (plus every error), every rank, or the ranks listed. */
export type RankView = 'rank0' | 'all' | number[];

function isStreamOutput(output: IOutput): output is IStream {
  return output.output_type === 'stream';
}

function isErrorOutput(output: IOutput): output is IError {
  return output.output_type === 'error';
}

function isDisplayOutput(output: IOutput): output is IDisplayData | IExecuteResult {
  return output.output_type === 'display_data' || output.output_type === 'execute_result';
}

/** Accumulates one kernel's (one rank's) output messages into nbformat outputs, like an output area. */
export class OutputAccumulator {
  private _outputs: IOutput[] = [];
  /** A `\r` left the last stream's cursor at the start of its last line. */
  private _atLineStart = false;
  /** Outputs that carry each display id. */
  private _displays = new Map<string, (IDisplayData | IExecuteResult)[]>();
  /** A `clear_output` with `wait: true` is pending until the next output is added. */
  private _clearNext = false;

  private readonly _handlers: OutputHandlers = {
    stream: (name, chunk) => {
      this._beforeAdd();
      const last = this._outputs[this._outputs.length - 1];
      if (last && isStreamOutput(last) && last.name === name) {
        const next = appendStream(textOf(last.text), this._atLineStart, chunk);
        last.text = next.text;
        this._atLineStart = next.atLineStart;
        return;
      }
      const next = appendStream('', false, chunk);
      this._outputs.push({ output_type: 'stream', name, text: next.text } satisfies IStream);
      this._atLineStart = next.atLineStart;
    },
    display: (output, displayId) => {
      this._push(output);
      if (displayId !== null) {
        this._displays.set(displayId, [...(this._displays.get(displayId) ?? []), output]);
      }
    },
    update: (displayId, data, metadata) => {
      for (const output of this._displays.get(displayId) ?? []) {
        output.data = data;
        output.metadata = metadata;
      }
    },
    error: output => this._push(output),
    clear: wait => {
      if (wait) {
        this._clearNext = true;
      } else {
        this._clear();
      }
    }
  };

  add(msgType: OutputEvent['msgType'], content: Record<string, unknown>): void {
    routeOutput(this._handlers, msgType, content);
  }

  /** Current outputs (fresh array of plain JSON objects; safe to JSON.stringify into a notebook). */
  outputs(): IOutput[] {
    return this._outputs.map(output => jsonCopy(output));
  }

  private _clear(): void {
    this._outputs = [];
    this._atLineStart = false;
    this._displays.clear();
    this._clearNext = false;
  }

  /** A pending `clear_output(wait=True)` takes effect just before the next output is added. */
  private _beforeAdd(): void {
    if (this._clearNext) {
      this._clear();
    }
  }

  private _push(output: IOutput): void {
    this._beforeAdd();
    this._outputs.push(output);
    this._atLineStart = false;
  }
}

/** Mark an output as coming from a rank (so the mark survives in any notebook viewer); a new object. */
export function labelWithRank(output: IOutput, rank: number): IOutput {
  const label = `[rank ${rank}] `;
  const copy = jsonCopy(output);
  if (isStreamOutput(copy)) {
    const text = textOf(copy.text);
    // Every line is attributed; a trailing newline starts no line of its own.
    copy.text = text === '' ? text : label + text.replace(/\n(?!$)/g, `\n${label}`);
  } else if (isErrorOutput(copy)) {
    const traceback = Array.isArray(copy.traceback) ? copy.traceback : [];
    copy.traceback = [`\u001b[1;31m[rank ${rank}]\u001b[0m`, ...traceback];
  } else if (isDisplayOutput(copy)) {
    copy.metadata = { ...(isPlainObject(copy.metadata) ? copy.metadata : {}), ddp: { rank } };
    const data: IMimeBundle = isPlainObject(copy.data) ? copy.data : {};
    const plain = data['text/plain'];
    if (typeof plain === 'string') {
      data['text/plain'] = label + plain;
    } else if (Array.isArray(plain)) {
      data['text/plain'] = plain.length > 0 ? [label + plain[0], ...plain.slice(1)] : [label];
    }
    copy.data = data;
  }
  return copy;
}

/** Each rank's outputs, accumulated separately, keyed by rank. */
function accumulateByRank(events: OutputEvent[]): Map<number, IOutput[]> {
  const accumulators = new Map<number, OutputAccumulator>();
  for (const event of events) {
    let accumulator = accumulators.get(event.rank);
    if (!accumulator) {
      accumulator = new OutputAccumulator();
      accumulators.set(event.rank, accumulator);
    }
    accumulator.add(event.msgType, event.content);
  }
  const byRank = new Map<number, IOutput[]>();
  for (const rank of [...accumulators.keys()].sort((a, b) => a - b)) {
    byRank.set(rank, accumulators.get(rank)!.outputs());
  }
  return byRank;
}

/** The labelled error outputs of every rank not in `shown`, in ascending rank order. */
function otherErrors(byRank: Map<number, IOutput[]>, shown: Set<number>): IOutput[] {
  const errors: IOutput[] = [];
  for (const [rank, outputs] of byRank) {
    if (!shown.has(rank)) {
      errors.push(...outputs.filter(isErrorOutput).map(output => labelWithRank(output, rank)));
    }
  }
  return errors;
}

/**
 * Build a cell's outputs from every rank's events (any order of ranks; events of one rank in seq
 * order). Errors of every rank always show, labelled with their rank.
 */
export function ddpCellOutputs(events: OutputEvent[], view: RankView): IOutput[] {
  const byRank = accumulateByRank(events);
  if (view === 'rank0') {
    // Rank 0, or the lowest rank present when the cell ran on a subset without rank 0.
    const main = byRank.has(0) ? 0 : [...byRank.keys()][0];
    if (main === undefined) {
      return [];
    }
    return [...byRank.get(main)!, ...otherErrors(byRank, new Set([main]))];
  }
  const shown = view === 'all' ? new Set(byRank.keys()) : new Set(view);
  const result: IOutput[] = [];
  for (const [rank, outputs] of byRank) {
    if (shown.has(rank)) {
      result.push(...outputs.map(output => labelWithRank(output, rank)));
    }
  }
  return [...result, ...otherErrors(byRank, shown)];
}

/**
 * Why an execution did not finish on every rank, as an nbformat error output for the cell (the
 * UI and `jupyter-ddp run` alike): the group's failure ("rank 2 exited (SIGKILL)"), and the dead
 * rank's last output lines; null when nothing failed beyond the ranks' own errors.
 */
export function failureOutput(summary: ExecutionSummary): IError | null {
  if (!summary.failure) {
    return null;
  }
  const lines = summary.failedRank?.lastOutput ?? [];
  return {
    output_type: 'error',
    ename: 'DdpGroupError',
    evalue: summary.failure,
    traceback: [
      `\u001b[1;31mDDP group: ${summary.failure}\u001b[0m`,
      ...(lines.length > 0 ? [`Last output of rank ${summary.failedRank!.rank}:`, ...lines] : [])
    ]
  };
}

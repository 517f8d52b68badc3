/**
 * Kernel output messages → nbformat 4 outputs, the way JupyterLab's output area stores them, and the
 * per-rank views of a DDP cell. Pure functions only (type-only imports): this module must load in
 * both the browser and Node.
 */
import type {
  IDisplayData,
  IError,
  IExecuteResult,
  IMimeBundle,
  IOutput,
  IStream,
  OutputMetadata,
  StreamType
} from '@jupyterlab/nbformat';

import type { OutputEvent } from './api';

/** Whose outputs a cell shows: rank 0 (plus every error), every rank, or the ranks listed. */
export type RankView = 'rank0' | 'all' | number[];

/** A deep copy of a JSON value, as plain JSON (drops `undefined` and functions). */
function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function joinMultiline(text: unknown): string {
  if (Array.isArray(text)) {
    return text.map(String).join('');
  }
  return typeof text === 'string' ? text : '';
}

function isStreamOutput(output: IOutput): output is IStream {
  return output.output_type === 'stream';
}

function isErrorOutput(output: IOutput): output is IError {
  return output.output_type === 'error';
}

function isDisplayOutput(output: IOutput): output is IDisplayData | IExecuteResult {
  return output.output_type === 'display_data' || output.output_type === 'execute_result';
}

/** The `transient.display_id` of a message content, if any. */
function displayIdOf(content: Record<string, unknown>): string | null {
  const transient = content.transient;
  if (!isPlainObject(transient)) {
    return null;
  }
  const id = transient.display_id;
  return typeof id === 'string' && id !== '' ? id : null;
}

function mimeBundleOf(content: Record<string, unknown>): IMimeBundle {
  return isPlainObject(content.data) ? (jsonCopy(content.data) as IMimeBundle) : {};
}

function metadataOf(content: Record<string, unknown>): OutputMetadata {
  return isPlainObject(content.metadata) ? (jsonCopy(content.metadata) as OutputMetadata) : {};
}

/** Terminal state of a stream output: its text, and whether a `\r` left the cursor at line start. */
interface StreamState {
  text: string;
  /** A `\r` moved the cursor to the start of the last line: the next character replaces that line. */
  atLineStart: boolean;
}

/**
 * Append a chunk to a stream's text, applying `\r` (return to the start of the line: what follows
 * replaces the line), `\r\n` (a plain newline) and `\b` (delete the previous character, never a
 * newline). The state carries across chunks, so progress bars collapse to their last state.
 */
function appendStreamText(state: StreamState, chunk: string): StreamState {
  let { text, atLineStart } = state;
  // Split into runs of plain characters and single control characters.
  for (const piece of chunk.split(/([\r\n\b])/)) {
    if (piece === '') {
      continue;
    }
    if (piece === '\r') {
      atLineStart = true;
    } else if (piece === '\n') {
      // Like a terminal and JupyterLab: a newline keeps the line, so `\r\n` is a plain newline.
      text += '\n';
      atLineStart = false;
    } else if (piece === '\b') {
      // At the start of a line there is nothing on the line to delete.
      if (!atLineStart && text.length > 0 && !text.endsWith('\n')) {
        text = text.slice(0, -1);
      }
    } else {
      if (atLineStart) {
        text = text.slice(0, text.lastIndexOf('\n') + 1);
        atLineStart = false;
      }
      text += piece;
    }
  }
  return { text, atLineStart };
}

/** Accumulates one kernel's (one rank's) output messages into nbformat outputs, like an output area. */
export class OutputAccumulator {
  private _outputs: IOutput[] = [];
  /** Cursor state of the last output, when it is a stream. */
  private _stream: StreamState | null = null;
  /** Output indices that carry each display id. */
  private _displayIds = new Map<string, number[]>();
  /** A `clear_output` with `wait: true` is pending until the next output is added. */
  private _clearNext = false;

  add(msgType: OutputEvent['msgType'], content: Record<string, unknown>): void {
    switch (msgType) {
      case 'stream':
        this._addStream(content);
        break;
      case 'display_data':
      case 'execute_result':
        this._addDisplay(msgType, content);
        break;
      case 'update_display_data':
        this._updateDisplay(content);
        break;
      case 'error':
        this._push({
          output_type: 'error',
          ename: typeof content.ename === 'string' ? content.ename : '',
          evalue: typeof content.evalue === 'string' ? content.evalue : '',
          traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : []
        } satisfies IError);
        break;
      case 'clear_output':
        if (content.wait === true) {
          this._clearNext = true;
        } else {
          this._clear();
        }
        break;
      default:
        // Not an output message: nothing to store.
        break;
    }
  }

  /** Current outputs (fresh array of plain JSON objects; safe to JSON.stringify into a notebook). */
  outputs(): IOutput[] {
    return this._outputs.map(output => jsonCopy(output));
  }

  private _clear(): void {
    this._outputs = [];
    this._stream = null;
    this._displayIds.clear();
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
    this._stream = null;
  }

  private _addStream(content: Record<string, unknown>): void {
    this._beforeAdd();
    const name = (typeof content.name === 'string' ? content.name : 'stdout') as StreamType;
    const chunk = joinMultiline(content.text);
    const last = this._outputs[this._outputs.length - 1];
    if (this._stream && last && isStreamOutput(last) && last.name === name) {
      this._stream = appendStreamText(this._stream, chunk);
      last.text = this._stream.text;
      return;
    }
    const state = appendStreamText({ text: '', atLineStart: false }, chunk);
    this._outputs.push({ output_type: 'stream', name, text: state.text } satisfies IStream);
    this._stream = state;
  }

  private _addDisplay(
    msgType: 'display_data' | 'execute_result',
    content: Record<string, unknown>
  ): void {
    const data = mimeBundleOf(content);
    const metadata = metadataOf(content);
    if (msgType === 'execute_result') {
      const count = content.execution_count;
      this._push({
        output_type: 'execute_result',
        data,
        metadata,
        execution_count: typeof count === 'number' ? count : null
      } satisfies IExecuteResult);
    } else {
      this._push({ output_type: 'display_data', data, metadata } satisfies IDisplayData);
    }
    const displayId = displayIdOf(content);
    if (displayId !== null) {
      const indices = this._displayIds.get(displayId) ?? [];
      indices.push(this._outputs.length - 1);
      this._displayIds.set(displayId, indices);
    }
  }

  private _updateDisplay(content: Record<string, unknown>): void {
    const displayId = displayIdOf(content);
    const indices = displayId === null ? undefined : this._displayIds.get(displayId);
    if (!indices) {
      return;
    }
    for (const index of indices) {
      const output = this._outputs[index];
      if (output && isDisplayOutput(output)) {
        output.data = mimeBundleOf(content);
        output.metadata = metadataOf(content);
      }
    }
  }
}

/** Mark an output as coming from a rank (so the mark survives in any notebook viewer); a new object. */
export function labelWithRank(output: IOutput, rank: number): IOutput {
  const label = `[rank ${rank}] `;
  const copy = jsonCopy(output);
  if (isStreamOutput(copy)) {
    const text = joinMultiline(copy.text);
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

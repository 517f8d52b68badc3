/**
 * A DDP cell's outputs from its ranks' outputs (whose show, rank labels, other ranks' errors, why
 * the group failed), for the UI and `jupyter-ddp run` alike. Pure logic (no JupyterLab code at
 * run time): this module loads in both the browser and Node.
 */
import type {
  IDisplayData,
  IError,
  IExecuteResult,
  IMimeBundle,
  IOutput,
  IStream,
  StreamType
} from '@jupyterlab/nbformat';

import { RankBuffers } from '../outputs/execution-outputs';
import { cutAtLine, RankBuffer, UNBOUNDED } from '../outputs/rank-buffer';
import type { ExecutionSummary, OutputEvent, OutputMsgType } from './api';
import { isPlainObject, jsonCopy, textOf } from './output-messages';

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

/**
 * One kernel's (one rank's) outputs, unbounded, like an output area would hold them: what
 * `jupyter-ddp run` saves of a notebook kernel's cell.
 */
export class OutputAccumulator {
  private readonly _buffer = new RankBuffer(UNBOUNDED);

  add(msgType: OutputMsgType, content: Record<string, unknown>): void {
    this._buffer.add(msgType, content);
  }

  /** Current outputs (fresh array of plain JSON objects; safe to JSON.stringify into a notebook). */
  outputs(): IOutput[] {
    return this._buffer.outputs.map(output => jsonCopy(output));
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

/**
 * One output of a cell, composed from the ranks' buffers: `key` stays the same while it is the
 * same output, `sig` changes whenever its content does (so that a view rewrites only what
 * changed); `output()` builds it (the buffer's own objects may be in it: use it at once).
 */
export interface ComposedOutput {
  key: string;
  sig: string;
  /** The stream's name, for a stream output. */
  streamName: StreamType | null;
  output(): IOutput;
}

export interface ComposeOptions {
  /** The ranks the execution ran on; default those with a buffer. */
  ranks?: readonly number[];
  /** Stream characters shown at most (before rank labels); the oldest are cut. Default: all. */
  maxChars?: number;
  /** Said first (as stderr) when something was cut, here or by the buffers' bounds. */
  cutNote?: string;
}

/** One shown output of a rank, before the cut. */
interface Part {
  rank: number;
  buffer: RankBuffer;
  output: IOutput;
  labelled: boolean;
  /** Stream characters cut from its front to keep within `maxChars`. */
  cut: number;
}

/**
 * A cell's outputs from every rank's buffer: the main rank's (rank 0, or the lowest that ran)
 * when the view is 'rank0', else those of the ranks in view, labelled with their rank; every
 * other rank's errors always, labelled. Stream text beyond `maxChars` is cut from the front (at a
 * line start when one is near), with `cutNote` first saying so. Reads the buffers without copying
 * them: only the outputs a view asks for are built.
 */
export function composeCell(
  store: RankBuffers,
  view: RankView,
  { ranks: ran, maxChars = Infinity, cutNote }: ComposeOptions = {}
): ComposedOutput[] {
  const present = store.ranks;
  const execution = ran && ran.length > 0 ? ran : present;
  const main = execution.includes(0) ? 0 : Math.min(...execution);
  const shown =
    view === 'rank0'
      ? present.filter(r => r === main)
      : view === 'all'
        ? present
        : present.filter(r => view.includes(r));
  const parts: Part[] = [];
  let cut = false;
  for (const rank of shown) {
    const buffer = store.rank(rank);
    cut ||= buffer.droppedChars > 0 || buffer.droppedOutputs > 0;
    for (const output of buffer.outputs) {
      parts.push({ rank, buffer, output, labelled: view !== 'rank0', cut: 0 });
    }
  }
  for (const rank of present.filter(r => !shown.includes(r))) {
    const buffer = store.rank(rank);
    for (const output of buffer.outputs.filter(isErrorOutput)) {
      parts.push({ rank, buffer, output, labelled: true, cut: 0 });
    }
  }
  // Keep the last `maxChars` of stream text.
  let budget = maxChars;
  const kept: Part[] = [];
  for (const part of parts.reverse()) {
    if (!isStreamOutput(part.output)) {
      kept.push(part);
      continue;
    }
    const text = part.output.text as string;
    if (budget <= 0) {
      cut = true;
    } else if (text.length > budget) {
      kept.push({ ...part, cut: cutAtLine(text, text.length - budget) });
      cut = true;
      budget = 0;
    } else {
      kept.push(part);
      budget -= text.length;
    }
  }
  kept.reverse();
  const composed = kept.map(composedPart);
  if (cut && cutNote !== undefined) {
    composed.unshift({
      key: 'cut',
      sig: '',
      streamName: 'stderr',
      output: () => ({ output_type: 'stream', name: 'stderr', text: `${cutNote}\n` })
    });
  }
  return composed;
}

function composedPart({ rank, buffer, output, labelled, cut }: Part): ComposedOutput {
  const key = `${rank}.${buffer.idOf(output)}`;
  const rev = buffer.revOf(output);
  const label = (o: IOutput) => (labelled ? labelWithRank(o, rank) : o);
  if (!isStreamOutput(output)) {
    return { key, sig: String(rev), streamName: null, output: () => label(output) };
  }
  const text = output.text as string;
  const base = buffer.baseOf(output);
  const name = output.name;
  return {
    key,
    sig: `${base + cut}-${base + text.length}.${rev}`,
    streamName: name,
    output: () => label({ output_type: 'stream', name, text: text.slice(cut) })
  };
}

/**
 * Build a cell's outputs from every rank's events (any order of ranks; events of one rank in seq
 * order), unbounded, as plain JSON. Errors of every rank always show, labelled with their rank.
 */
export function ddpCellOutputs(events: OutputEvent[], view: RankView): IOutput[] {
  const store = new RankBuffers(UNBOUNDED);
  for (const event of events) {
    store.rank(event.rank).add(event.msgType, event.content);
  }
  return composeCell(store, view).map(composed => jsonCopy(composed.output()));
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

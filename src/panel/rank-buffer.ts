/**
 * Bounded per-rank output buffers for the rank output panel. Pure logic (type-only imports), so it
 * is unit-tested without a browser: a flood of output keeps at most a fixed amount per rank.
 */
import type {
  IDisplayData,
  IExecuteResult,
  IOutput,
  IStream,
  StreamType
} from '@jupyterlab/nbformat';

import type { OutputEvent } from '../protocol/api';
import { appendStream, OutputHandlers, routeOutput, textOf } from '../protocol/output-messages';

export interface BufferLimits {
  /** Stream characters kept per rank; beyond it, the oldest are dropped. */
  maxChars: number;
  /** Outputs kept per rank; beyond it, the oldest are dropped. */
  maxOutputs: number;
}

export const PANEL_LIMITS: BufferLimits = { maxChars: 1_000_000, maxOutputs: 500 };

/**
 * A trim goes this far below the limit, so that a flood trims (and the panel re-renders from
 * scratch) once per fifth of the limit, not on every chunk.
 */
const TRIM_TO = 0.8;

/** A cut in stream text moves forward to the next line start when one is this close. */
const LINE_SLACK = 1000;

/**
 * One rank's outputs as nbformat outputs, like an output area would hold them, but bounded: beyond
 * `maxChars` of stream text or `maxOutputs` outputs, the oldest are dropped and counted.
 *
 * Each output keeps its object while it lives, so views can tell what changed: `version` changes
 * with every change; `revOf` an output when it changed other than by text added at its end
 * (a display update, a `\r` rewriting the last line); `baseOf` a stream output counts the
 * characters cut from its start.
 */
export class RankBuffer {
  private _outputs: IOutput[] = [];
  /** A `\r` left the last stream's cursor at the start of its last line. */
  private _atLineStart = false;
  private _clearNext = false;
  private _displays = new Map<string, (IDisplayData | IExecuteResult)[]>();
  private _streamChars = 0;
  private _droppedChars = 0;
  private _droppedOutputs = 0;
  private _version = 0;
  private _revs = new WeakMap<IOutput, number>();
  private _bases = new WeakMap<IOutput, number>();

  private readonly _handlers: OutputHandlers = {
    stream: (name, chunk) => this._addStream(name, chunk),
    display: (output, displayId) => {
      if (displayId !== null) {
        this._displays.set(displayId, [...(this._displays.get(displayId) ?? []), output]);
      }
      this._push(output);
    },
    update: (displayId, data, metadata) => {
      const targets = this._displays.get(displayId) ?? [];
      for (const output of targets) {
        this._revs.set(output, this.revOf(output) + 1);
        output.data = data;
        output.metadata = metadata;
      }
      if (targets.length > 0) {
        this._changed();
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

  constructor(private readonly limits: BufferLimits = PANEL_LIMITS) {}

  /** The outputs kept (the buffer's own objects: read, never change them). */
  get outputs(): readonly IOutput[] {
    return this._outputs;
  }

  get version(): number {
    return this._version;
  }

  /** Bumped when an output changed other than by text appended at its end. */
  revOf(output: IOutput): number {
    return this._revs.get(output) ?? 0;
  }

  /** Characters cut from the start of a stream output (its text starts at that offset). */
  baseOf(output: IOutput): number {
    return this._bases.get(output) ?? 0;
  }

  /** Stream characters kept. */
  get streamChars(): number {
    return this._streamChars;
  }

  /** Stream characters dropped to stay within the limit (since the last clear_output). */
  get droppedChars(): number {
    return this._droppedChars;
  }

  /** Other outputs (displays, errors) dropped to stay within the limits. */
  get droppedOutputs(): number {
    return this._droppedOutputs;
  }

  /** Apply one kernel output message of this rank. */
  add(msgType: OutputEvent['msgType'], content: Record<string, unknown>): void {
    routeOutput(this._handlers, msgType, content);
  }

  /** A change; `rewritten` changed other than by appending. */
  private _changed(rewritten?: IOutput): void {
    this._version++;
    if (rewritten) {
      this._revs.set(rewritten, this.revOf(rewritten) + 1);
    }
  }

  private _clear(): void {
    this._outputs = [];
    this._displays.clear();
    this._atLineStart = false;
    this._clearNext = false;
    this._streamChars = 0;
    this._droppedChars = 0;
    this._droppedOutputs = 0;
    this._changed();
  }

  private _beforeAdd(): void {
    if (this._clearNext) {
      this._clear();
    }
  }

  private _push(output: IOutput): void {
    this._beforeAdd();
    this._outputs.push(output);
    this._atLineStart = false;
    this._changed();
    this._trim();
  }

  private _addStream(name: StreamType, chunk: string): void {
    this._beforeAdd();
    const last = this._outputs[this._outputs.length - 1] as IStream | undefined;
    if (last && last.output_type === 'stream' && last.name === name) {
      const before = last.text as string;
      const next = appendStream(before, this._atLineStart, chunk);
      last.text = next.text;
      this._atLineStart = next.atLineStart;
      this._streamChars += next.text.length - before.length;
      this._changed(next.rewrote ? last : undefined);
    } else {
      const next = appendStream('', false, chunk);
      this._outputs.push({ output_type: 'stream', name, text: next.text } satisfies IStream);
      this._atLineStart = next.atLineStart;
      this._streamChars += next.text.length;
      this._changed();
    }
    this._trim();
  }

  /** Drop the oldest outputs and text until within the limits (well within: see TRIM_TO). */
  private _trim(): void {
    const { maxChars, maxOutputs } = this.limits;
    if (this._streamChars <= maxChars && this._outputs.length <= maxOutputs) {
      return;
    }
    let excessChars =
      this._streamChars > maxChars ? this._streamChars - Math.floor(maxChars * TRIM_TO) : 0;
    let excessOutputs =
      this._outputs.length > maxOutputs
        ? this._outputs.length - Math.max(1, Math.floor(maxOutputs * TRIM_TO))
        : 0;
    let drop = 0;
    while (drop < this._outputs.length && (excessChars > 0 || excessOutputs > 0)) {
      const output = this._outputs[drop];
      if (output.output_type === 'stream') {
        const text = output.text as string;
        if (excessOutputs <= 0 && text.length > excessChars) {
          // Cut this one from the front, at a line start when one is near.
          let cut = excessChars;
          const newline = text.indexOf('\n', cut - 1);
          if (newline !== -1 && newline + 1 < text.length && newline + 1 - cut <= LINE_SLACK) {
            cut = newline + 1;
          }
          output.text = text.slice(cut);
          this._bases.set(output, this.baseOf(output) + cut);
          this._streamChars -= cut;
          this._droppedChars += cut;
          break;
        }
        this._streamChars -= text.length;
        this._droppedChars += text.length;
        excessChars -= text.length;
      } else {
        this._droppedOutputs++;
      }
      excessOutputs--;
      drop++;
    }
    if (drop > 0) {
      this._outputs.splice(0, drop);
      if (this._outputs.length === 0) {
        this._atLineStart = false;
      }
      const kept = new Set(this._outputs);
      for (const [id, outputs] of this._displays) {
        const still = outputs.filter(o => kept.has(o));
        if (still.length > 0) {
          this._displays.set(id, still);
        } else {
          this._displays.delete(id);
        }
      }
    }
  }
}

/**
 * Every rank's buffer for one execution. Outputs are applied strictly in sequence order (those
 * ahead of a gap wait for it to be filled, e.g. by the execution's record), each to its rank.
 * Status events are not outputs (they carry the next output's seq): they are left out here.
 */
export class ExecutionOutputs {
  private readonly _ranks = new Map<number, RankBuffer>();
  private readonly _pending = new Map<number, OutputEvent>();
  private _pendingChars = 0;
  private _next = 0;

  /**
   * @param maxPendingChars - beyond this much text waiting for a gap, the gap is given up on.
   */
  constructor(
    private readonly limits: BufferLimits = PANEL_LIMITS,
    private readonly maxPendingChars = 4 * PANEL_LIMITS.maxChars
  ) {}

  /** The first sequence number not applied yet: fetching from there misses nothing. */
  get firstMissing(): number {
    return this._next;
  }

  /** Events waiting for a gap before them to be filled. */
  get pending(): number {
    return this._pending.size;
  }

  /** The ranks seen so far, ascending. */
  get ranks(): number[] {
    return [...this._ranks.keys()].sort((a, b) => a - b);
  }

  /** The buffer of a rank (created empty if it has had no output yet). */
  rank(rank: number): RankBuffer {
    let buffer = this._ranks.get(rank);
    if (!buffer) {
      buffer = new RankBuffer(this.limits);
      this._ranks.set(rank, buffer);
    }
    return buffer;
  }

  /** Whether an output below `nextSeq` (an execution summary's) has not been applied yet. */
  missesBefore(nextSeq: number): boolean {
    return this._next < nextSeq;
  }

  add(event: OutputEvent): void {
    if (event.msgType === 'status' || event.seq < this._next || this._pending.has(event.seq)) {
      return; // not an output, or a repeat
    }
    this._pending.set(event.seq, event);
    this._pendingChars += sizeOf(event);
    if (this._pendingChars > this.maxPendingChars) {
      this.giveUpGap();
    } else {
      this.drain();
    }
  }

  /** Events before `seq` are gone (the server dropped them): go on without them. */
  skipTo(seq: number): void {
    if (seq > this._next) {
      this._next = seq;
      for (const key of [...this._pending.keys()].filter(k => k < seq)) {
        this._pendingChars -= sizeOf(this._pending.get(key)!);
        this._pending.delete(key);
      }
      this.drain();
    }
  }

  /** The gap before the pending events will not be filled: apply them. */
  giveUpGap(): void {
    if (this._pending.size > 0) {
      this.skipTo(Math.min(...this._pending.keys()));
    }
  }

  private drain(): void {
    for (let event = this._pending.get(this._next); event; event = this._pending.get(this._next)) {
      this._pending.delete(this._next);
      this._pendingChars -= sizeOf(event);
      this._next++;
      this.rank(event.rank).add(event.msgType, event.content);
    }
  }
}

/** Roughly how much memory an event holds: its text, or a nominal size. */
function sizeOf(event: OutputEvent): number {
  return event.msgType === 'stream' ? textOf(event.content.text).length : 1000;
}

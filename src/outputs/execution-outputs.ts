/**
 * Every rank's outputs of one execution, in the bounded per-rank buffers, applied strictly in
 * sequence order. Pure logic (type-only imports): loads in Node, unit-tested without a browser.
 */
import type { OutputEvent } from '../protocol/api';
import { textOf } from '../protocol/output-messages';
import { BufferLimits, OUTPUT_LIMITS, RankBuffer } from './rank-buffer';

/** One buffer per rank, made on a rank's first output: what views of an execution read. */
export class RankBuffers {
  private readonly _ranks = new Map<number, RankBuffer>();

  constructor(protected readonly limits: BufferLimits = OUTPUT_LIMITS) {}

  /** The ranks that have a buffer, ascending. */
  get ranks(): number[] {
    return [...this._ranks.keys()].sort((a, b) => a - b);
  }

  /** The buffer of a rank (made empty if it has had no output yet). */
  rank(rank: number): RankBuffer {
    let buffer = this._ranks.get(rank);
    if (!buffer) {
      buffer = new RankBuffer(this.limits);
      this._ranks.set(rank, buffer);
    }
    return buffer;
  }
}

/**
 * An execution's outputs as they arrive, from the socket or a fetched record. Outputs are applied
 * strictly in sequence order (those ahead of a gap wait for it to be filled), each to its rank.
 * Status events are not outputs (they carry the next output's seq): they are left out here.
 * Outputs that never came (the server dropped them, or a gap was given up) are counted in `missed`.
 */
export class ExecutionOutputs extends RankBuffers {
  private readonly _pending = new Map<number, OutputEvent>();
  private _pendingChars = 0;
  private _next = 0;
  private _missed = 0;

  /**
   * @param maxPendingChars - beyond this much text waiting for a gap, the gap is given up on.
   */
  constructor(
    limits: BufferLimits = OUTPUT_LIMITS,
    private readonly _maxPendingChars = 4 * limits.maxChars
  ) {
    super(limits);
  }

  /** The first sequence number not applied yet: fetching from there misses nothing. */
  get firstMissing(): number {
    return this._next;
  }

  /** Events waiting for a gap before them to be filled. */
  get pending(): number {
    return this._pending.size;
  }

  /** Outputs skipped because they never came: the server no longer had them, or a gap was given up. */
  get missed(): number {
    return this._missed;
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
    if (this._pendingChars > this._maxPendingChars) {
      this.giveUpGap();
    } else {
      this._drain();
    }
  }

  /**
   * Outputs before `seq` that have not come will not (the server dropped them): apply those that
   * wait below it, in order, and go on from `seq`.
   */
  skipTo(seq: number): void {
    if (seq <= this._next) {
      return;
    }
    const waiting = [...this._pending.keys()].filter(key => key < seq).sort((a, b) => a - b);
    for (const key of waiting) {
      if (key >= this._next) {
        this._missed += key - this._next;
        this._next = key;
        this._drain();
      }
    }
    if (this._next < seq) {
      this._missed += seq - this._next;
      this._next = seq;
      this._drain();
    }
  }

  /** The gap before the pending events will not be filled: apply them. */
  giveUpGap(): void {
    let first = Infinity;
    for (const key of this._pending.keys()) {
      first = Math.min(first, key); // a loop: more events may wait than a call takes arguments
    }
    if (first !== Infinity) {
      this.skipTo(first);
    }
  }

  private _drain(): void {
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

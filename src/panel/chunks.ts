/**
 * Splitting a long stream output into chunks of whole lines, so a view renders a flood as many
 * small outputs: appending text re-renders only the last chunk, and dropping the oldest text
 * removes whole chunks (and re-renders only the first). Pure logic.
 */

/** Characters per chunk, about: a chunk ends at the first line end after this many. */
export const CHUNK_CHARS = 32_000;

export interface Chunk {
  /** Stable number of the chunk in its stream (it keeps it while it lives). */
  no: number;
  /** Absolute offsets in the stream, as if nothing had been cut from its start. */
  start: number;
  end: number;
  /** The last chunk, which grows as text is appended. */
  open: boolean;
}

/**
 * The chunks of one stream output. Boundaries are absolute offsets that stay put as text is
 * appended at the end or cut from the start (`base`: characters cut so far), so that a chunk,
 * once closed, only ever changes by losing its start.
 */
export class StreamChunker {
  /** Absolute start of the first chunk kept (null until the first update). */
  private _firstStart: number | null = null;
  private _firstNo = 0;
  /** Absolute ends of the closed chunks, the first one numbered `firstNo`. */
  private _ends: number[] = [];
  /** Some boundary is not at a line end (a line longer than two chunks was split). */
  private _forced = false;
  private _rev = 0;

  constructor(private readonly _size = CHUNK_CHARS) {}

  /**
   * The chunks of `text`, a stream output whose first `base` characters were cut; `rev` changes
   * when its text changed other than by appending (a `\r` rewrote its last line).
   */
  update(text: string, base: number, rev = 0): Chunk[] {
    const total = base + text.length;
    const lastEnd = this._ends[this._ends.length - 1] ?? this._firstStart ?? 0;
    // A rewrite only touches the last line, past every boundary at a line end; anything else
    // starts afresh, with new chunk numbers.
    if (this._firstStart === null || (rev !== this._rev && (this._forced || lastEnd > total))) {
      this._firstNo += this._ends.length + 1;
      this._firstStart = base;
      this._ends = [];
      this._forced = false;
    }
    this._rev = rev;
    while (this._ends.length > 0 && this._ends[0] <= base) {
      this._firstStart = this._ends.shift()!;
      this._firstNo++;
    }
    let open = Math.max(this._ends[this._ends.length - 1] ?? this._firstStart, base);
    while (total - open > this._size) {
      const newline = text.indexOf('\n', open - base + this._size - 1);
      let end: number;
      if (newline !== -1) {
        end = base + newline + 1;
      } else if (total - open > 2 * this._size) {
        end = open + this._size;
        this._forced = true;
      } else {
        break;
      }
      this._ends.push(end);
      open = end;
    }
    const chunks: Chunk[] = [];
    let start = this._firstStart;
    this._ends.forEach((end, i) => {
      chunks.push({ no: this._firstNo + i, start: Math.max(start, base), end, open: false });
      start = end;
    });
    if (total > Math.max(start, base)) {
      chunks.push({
        no: this._firstNo + this._ends.length,
        start: Math.max(start, base),
        end: total,
        open: true
      });
    }
    return chunks;
  }
}

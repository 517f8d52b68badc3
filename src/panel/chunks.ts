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
  private firstStart: number | null = null;
  private firstNo = 0;
  /** Absolute ends of the closed chunks, the first one numbered `firstNo`. */
  private ends: number[] = [];
  /** Some boundary is not at a line end (a line longer than two chunks was split). */
  private forced = false;
  private rev = 0;

  constructor(private readonly size = CHUNK_CHARS) {}

  /**
   * The chunks of `text`, a stream output whose first `base` characters were cut; `rev` changes
   * when its text changed other than by appending (a `\r` rewrote its last line).
   */
  update(text: string, base: number, rev = 0): Chunk[] {
    const total = base + text.length;
    const lastEnd = this.ends[this.ends.length - 1] ?? this.firstStart ?? 0;
    // A rewrite only touches the last line, past every boundary at a line end; anything else
    // starts afresh, with new chunk numbers.
    if (this.firstStart === null || (rev !== this.rev && (this.forced || lastEnd > total))) {
      this.firstNo += this.ends.length + 1;
      this.firstStart = base;
      this.ends = [];
      this.forced = false;
    }
    this.rev = rev;
    while (this.ends.length > 0 && this.ends[0] <= base) {
      this.firstStart = this.ends.shift()!;
      this.firstNo++;
    }
    let open = Math.max(this.ends[this.ends.length - 1] ?? this.firstStart, base);
    while (total - open > this.size) {
      const newline = text.indexOf('\n', open - base + this.size - 1);
      let end: number;
      if (newline !== -1) {
        end = base + newline + 1;
      } else if (total - open > 2 * this.size) {
        end = open + this.size;
        this.forced = true;
      } else {
        break;
      }
      this.ends.push(end);
      open = end;
    }
    const chunks: Chunk[] = [];
    let start = this.firstStart;
    this.ends.forEach((end, i) => {
      chunks.push({ no: this.firstNo + i, start: Math.max(start, base), end, open: false });
      start = end;
    });
    if (total > Math.max(start, base)) {
      chunks.push({
        no: this.firstNo + this.ends.length,
        start: Math.max(start, base),
        end: total,
        open: true
      });
    }
    return chunks;
  }
}

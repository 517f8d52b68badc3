import { StreamChunker } from '../chunks';

/** The chunks' texts, from a stream whose first `base` characters were cut. */
function texts(chunker: StreamChunker, text: string, base = 0, rev = 0): string[] {
  return chunker.update(text, base, rev).map(c => text.slice(c.start - base, c.end - base));
}

const lines = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => `${from + i}\n`).join('');

describe('StreamChunker', () => {
  it('cuts a long stream into chunks of whole lines that cover it exactly', () => {
    const text = lines(0, 1000);
    const chunks = texts(new StreamChunker(100), text);
    expect(chunks.join('')).toBe(text);
    expect(chunks.length).toBeGreaterThan(20);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.endsWith('\n')).toBe(true);
      expect(chunk.length).toBeGreaterThanOrEqual(100);
      expect(chunk.length).toBeLessThan(110);
    }
  });

  it('keeps chunk numbers and boundaries as text is appended: only the last one changes', () => {
    const chunker = new StreamChunker(100);
    let text = lines(0, 100);
    const before = chunker.update(text, 0);
    text += lines(100, 103);
    const after = chunker.update(text, 0);
    expect(after.slice(0, before.length - 1)).toEqual(before.slice(0, -1));
    const last = before[before.length - 1];
    expect(after[before.length - 1]).toMatchObject({ no: last.no, start: last.start });
    expect(after[after.length - 1].end).toBe(text.length);
  });

  it('drops chunks cut from the start; the first kept one only loses its start', () => {
    const chunker = new StreamChunker(100);
    const text = lines(0, 500);
    const all = chunker.update(text, 0);
    const cut = all[3].start + 7;
    const kept = chunker.update(text.slice(cut), cut);
    expect(kept[0]).toEqual({ ...all[3], start: cut });
    expect(kept.slice(1)).toEqual(all.slice(4));
    expect(texts(chunker, text.slice(cut), cut).join('')).toBe(text.slice(cut));
  });

  it('renumbers everything after a rewrite that reaches into a split line', () => {
    const chunker = new StreamChunker(10);
    const long = 'x'.repeat(35);
    const first = chunker.update(long, 0);
    expect(first.map(c => c.end - c.start)).toEqual([10, 10, 15]);
    // A \r rewrote the (single, long) line: boundaries inside it no longer hold.
    const rewritten = 'y'.repeat(12);
    const second = chunker.update(rewritten, 0, 1);
    expect(second.map(c => c.no).some(no => first.some(c => c.no === no))).toBe(false);
    expect(texts(chunker, rewritten, 0, 1).join('')).toBe(rewritten);
  });

  it('a rewrite of the last line keeps the closed chunks', () => {
    const chunker = new StreamChunker(10);
    const text = lines(0, 20) + '50%';
    const first = chunker.update(text, 0, 0);
    const second = chunker.update(lines(0, 20) + '60%', 0, 1);
    expect(second.slice(0, -1)).toEqual(first.slice(0, -1));
  });

  it('has no chunk for empty text', () => {
    expect(new StreamChunker(10).update('', 0)).toEqual([]);
    expect(new StreamChunker(10).update('', 50)).toEqual([]);
  });
});

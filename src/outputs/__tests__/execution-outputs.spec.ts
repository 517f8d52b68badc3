import type { IStream } from '@jupyterlab/nbformat';

import type { OutputEvent } from '../../protocol/api';
import { ExecutionOutputs } from '../execution-outputs';
import { RankBuffer } from '../rank-buffer';

const stdout = (text: string) => ({ name: 'stdout', text });
const textOf = (buffer: RankBuffer) =>
  buffer.outputs.map(o => (o.output_type === 'stream' ? (o as IStream).text : '')).join('');

describe('ExecutionOutputs', () => {
  const event = (seq: number, rank: number, text: string): OutputEvent => ({
    execution: 'x',
    seq,
    rank,
    msgType: 'stream',
    content: stdout(text)
  });

  it('applies events in sequence, each to its rank, whatever order they come in', () => {
    const outputs = new ExecutionOutputs();
    outputs.add(event(1, 1, 'b'));
    outputs.add(event(2, 0, 'c'));
    expect(outputs.pending).toBe(2);
    expect(outputs.ranks).toEqual([]);
    outputs.add(event(0, 0, 'a'));
    outputs.add(event(1, 1, 'b')); // a repeat
    expect(outputs.pending).toBe(0);
    expect(outputs.firstMissing).toBe(3);
    expect(outputs.ranks).toEqual([0, 1]);
    expect(textOf(outputs.rank(0))).toBe('ac');
    expect(textOf(outputs.rank(1))).toBe('b');
  });

  it('skips what the server dropped, and gives up a gap that grows too large', () => {
    const outputs = new ExecutionOutputs(undefined, 100);
    outputs.add(event(7, 0, 'late'));
    outputs.skipTo(5);
    expect(outputs.pending).toBe(1);
    outputs.add(event(5, 0, 'f'));
    outputs.add(event(6, 0, 'g'));
    expect(textOf(outputs.rank(0))).toBe('fglate');

    outputs.add(event(20, 2, 'x'.repeat(60)));
    expect(outputs.pending).toBe(1);
    outputs.add(event(21, 2, 'y'.repeat(60)));
    expect(outputs.pending).toBe(0);
    expect(outputs.firstMissing).toBe(22);
    expect(textOf(outputs.rank(2))).toBe('x'.repeat(60) + 'y'.repeat(60));
  });

  it('applies outputs as they come with status events left out, or among them', () => {
    const status = (seq: number, rank: number): OutputEvent => ({
      execution: 'x',
      seq,
      rank,
      msgType: 'status',
      content: { execution_state: 'idle' }
    });
    const outputs = new ExecutionOutputs();
    outputs.add(status(0, 0));
    outputs.add(event(0, 0, 'a'));
    outputs.add(event(1, 1, 'b'));
    outputs.add(status(2, 1));
    outputs.add(event(2, 0, 'c'));
    expect(outputs.pending).toBe(0);
    expect(textOf(outputs.rank(0))).toBe('ac');
    expect(textOf(outputs.rank(1))).toBe('b');
    expect(outputs.missesBefore(3)).toBe(false);
    outputs.add(event(4, 0, 'e'));
    expect(outputs.missesBefore(5)).toBe(true);
  });

  it('giveUpGap applies what waits behind a gap', () => {
    const outputs = new ExecutionOutputs();
    outputs.add(event(3, 1, 'z'));
    outputs.giveUpGap();
    expect(outputs.firstMissing).toBe(4);
    expect(textOf(outputs.rank(1))).toBe('z');
  });
});

describe('ExecutionOutputs, what never came', () => {
  const event = (seq: number, text: string): OutputEvent => ({
    execution: 'x',
    seq,
    rank: 0,
    msgType: 'stream',
    content: stdout(text)
  });

  it('counts the outputs skipped, and applies those that waited below the skip', () => {
    const outputs = new ExecutionOutputs();
    outputs.add(event(0, 'a'));
    outputs.add(event(3, 'd'));
    outputs.add(event(4, 'e'));
    outputs.add(event(9, 'j'));
    outputs.skipTo(6); // the server kept 6 on: 3 and 4 came, 1, 2 and 5 never will
    expect(outputs.missed).toBe(3);
    expect(outputs.firstMissing).toBe(6);
    expect(textOf(outputs.rank(0))).toBe('ade');
    outputs.giveUpGap();
    expect(outputs.missed).toBe(6);
    expect(textOf(outputs.rank(0))).toBe('adej');
  });

  it('gives up a gap behind more events than a call takes arguments', () => {
    const outputs = new ExecutionOutputs(undefined, Infinity);
    for (let seq = 1; seq <= 200_000; seq++) {
      outputs.add(event(seq, 'x'));
    }
    outputs.giveUpGap();
    expect(outputs.firstMissing).toBe(200_001);
    expect(outputs.missed).toBe(1);
  });
});

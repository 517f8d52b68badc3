import type { IStream } from '@jupyterlab/nbformat';

import type { OutputEvent } from '../../protocol/api';
import { OutputAccumulator } from '../../protocol/outputs';
import { ExecutionOutputs, RankBuffer } from '../rank-buffer';

const stdout = (text: string) => ({ name: 'stdout', text });
const textOf = (buffer: RankBuffer) =>
  buffer.outputs.map(o => (o.output_type === 'stream' ? (o as IStream).text : '')).join('');

describe('RankBuffer', () => {
  it('matches OutputAccumulator below its limits', () => {
    const messages: [OutputEvent['msgType'], Record<string, unknown>][] = [
      ['stream', stdout('a\n')],
      ['stream', { name: 'stderr', text: 'warn\n' }],
      ['stream', stdout('b\r')],
      ['stream', stdout('c\n')],
      ['display_data', { data: { 'text/plain': 'x' }, transient: { display_id: 'd' } }],
      ['update_display_data', { data: { 'text/plain': 'y' }, transient: { display_id: 'd' } }],
      ['execute_result', { data: { 'text/plain': '3' }, execution_count: 4 }],
      ['error', { ename: 'E', evalue: 'v', traceback: ['t'] }],
      ['status', { execution_state: 'idle' }]
    ];
    const buffer = new RankBuffer();
    const reference = new OutputAccumulator();
    for (const [type, content] of messages) {
      buffer.add(type, content);
      reference.add(type, content);
    }
    expect(JSON.parse(JSON.stringify(buffer.outputs))).toEqual(reference.outputs());
    expect(buffer.droppedChars).toBe(0);
  });

  it('keeps each output’s object, and counts its changes other than appends', () => {
    const buffer = new RankBuffer();
    buffer.add('stream', stdout('a'));
    const stream = buffer.outputs[0];
    buffer.add('stream', stdout('b\n'));
    expect(buffer.outputs[0]).toBe(stream);
    expect(buffer.revOf(stream)).toBe(0);
    buffer.add('stream', stdout('50%\r'));
    buffer.add('stream', stdout('60%'));
    expect(buffer.outputs[0]).toMatchObject({ text: 'ab\n60%' });
    expect(buffer.revOf(stream)).toBe(1);
    buffer.add('display_data', { data: { 'text/plain': 'x' }, transient: { display_id: 'd' } });
    const display = buffer.outputs[1];
    buffer.add('update_display_data', {
      data: { 'text/plain': 'y' },
      transient: { display_id: 'd' }
    });
    expect(buffer.outputs[1]).toBe(display);
    expect(buffer.revOf(display)).toBe(1);
    expect(buffer.version).toBe(6);
    buffer.add('clear_output', { wait: true });
    expect(buffer.outputs).toHaveLength(2);
    buffer.add('stream', stdout('new'));
    expect(textOf(buffer)).toBe('new');
    expect(buffer.outputs[0]).not.toBe(stream);
  });

  it('keeps at most maxChars of stream text, dropping the oldest at a line start', () => {
    const buffer = new RankBuffer({ maxChars: 1000, maxOutputs: 100 });
    let all = '';
    for (let i = 0; i < 5000; i++) {
      const line = `${i}\n`;
      all += line;
      buffer.add('stream', stdout(line));
      expect(buffer.streamChars).toBeLessThanOrEqual(1000);
    }
    const kept = textOf(buffer);
    expect(kept.length).toBe(buffer.streamChars);
    expect(all.endsWith(kept)).toBe(true);
    expect(kept.startsWith('\n')).toBe(false);
    expect(all.slice(all.length - kept.length - 1, all.length - kept.length)).toBe('\n');
    expect(kept.endsWith('4999\n')).toBe(true);
    expect(buffer.droppedChars).toBe(all.length - kept.length);
    expect(buffer.baseOf(buffer.outputs[0])).toBe(all.length - kept.length);
  });

  it('trims a single huge chunk and well below the limit, so that floods trim rarely', () => {
    const buffer = new RankBuffer({ maxChars: 1000, maxOutputs: 100 });
    buffer.add('stream', stdout('x'.repeat(5000)));
    expect(buffer.streamChars).toBe(800);
    expect(buffer.droppedChars).toBe(4200);
    buffer.add('stream', stdout('y'.repeat(150)));
    expect(buffer.droppedChars).toBe(4200);
    expect(buffer.streamChars).toBe(950);
  });

  it('keeps at most maxOutputs outputs, and forgets display ids of dropped ones', () => {
    const buffer = new RankBuffer({ maxChars: 1000, maxOutputs: 10 });
    for (let i = 0; i < 25; i++) {
      buffer.add('display_data', {
        data: { 'text/plain': String(i) },
        transient: { display_id: `d${i}` }
      });
    }
    expect(buffer.outputs.length).toBeLessThanOrEqual(10);
    expect(buffer.droppedOutputs).toBe(25 - buffer.outputs.length);
    const version = buffer.version;
    buffer.add('update_display_data', {
      data: { 'text/plain': 'gone' },
      transient: { display_id: 'd0' }
    });
    expect(buffer.version).toBe(version);
    buffer.add('update_display_data', {
      data: { 'text/plain': 'new' },
      transient: { display_id: 'd24' }
    });
    expect(buffer.outputs[buffer.outputs.length - 1]).toMatchObject({
      data: { 'text/plain': 'new' }
    });
  });

  it('stays bounded under a flood of many chunks and outputs mixed', () => {
    const buffer = new RankBuffer({ maxChars: 10_000, maxOutputs: 50 });
    for (let i = 0; i < 2000; i++) {
      buffer.add('stream', stdout(`${i}\n`.repeat(20)));
      if (i % 3 === 0) {
        buffer.add('stream', { name: 'stderr', text: `e${i}\n` });
      }
    }
    expect(buffer.streamChars).toBeLessThanOrEqual(10_000);
    expect(buffer.outputs.length).toBeLessThanOrEqual(50);
    expect(textOf(buffer).endsWith('1999\n'.repeat(20))).toBe(true);
  });
});

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

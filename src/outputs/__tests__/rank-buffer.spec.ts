import type { IStream } from '@jupyterlab/nbformat';

import type { OutputEvent } from '../../protocol/api';
import { OutputAccumulator } from '../../protocol/outputs';
import { cutAtLine, RankBuffer } from '../rank-buffer';

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

  it('numbers each output for as long as it lives', () => {
    const buffer = new RankBuffer({ maxChars: 1000, maxOutputs: 3 });
    buffer.add('stream', stdout('a'));
    buffer.add('display_data', { data: { 'text/plain': 'x' } });
    const [stream, display] = buffer.outputs;
    buffer.add('stream', stdout('b'));
    expect(buffer.idOf(buffer.outputs[0])).toBe(buffer.idOf(stream));
    expect(buffer.idOf(display)).not.toBe(buffer.idOf(stream));
    buffer.add('error', { ename: 'E', evalue: 'v', traceback: [] });
    buffer.add('error', { ename: 'F', evalue: 'v', traceback: [] });
    expect(buffer.outputs).not.toContain(stream);
    expect(new Set(buffer.outputs.map(o => buffer.idOf(o))).size).toBe(buffer.outputs.length);
  });
});

describe('cutAtLine', () => {
  it('moves a cut to the next line start when one is near, and cuts nothing for 0', () => {
    expect(cutAtLine('ab\ncd\n', 1)).toBe(3);
    expect(cutAtLine('ab\ncd\n', 3)).toBe(3);
    expect(cutAtLine('x'.repeat(5000) + '\ny', 10)).toBe(10);
    expect(cutAtLine('ab\n', 0)).toBe(0);
  });
});

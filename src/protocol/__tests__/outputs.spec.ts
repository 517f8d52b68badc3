import type { IOutput } from '@jupyterlab/nbformat';

import { RankBuffers } from '../../outputs/execution-outputs';
import type { OutputEvent } from '../api';
import {
  ComposedOutput,
  composeCell,
  ddpCellOutputs,
  labelWithRank,
  OutputAccumulator
} from '../outputs';

type Msg = [OutputEvent['msgType'], Record<string, unknown>];

function accumulate(...messages: Msg[]): IOutput[] {
  const acc = new OutputAccumulator();
  for (const [msgType, content] of messages) {
    acc.add(msgType, content);
  }
  return acc.outputs();
}

const stdout = (text: string): Msg => ['stream', { name: 'stdout', text }];
const stderr = (text: string): Msg => ['stream', { name: 'stderr', text }];
const display = (text: string, displayId?: string): Msg => [
  'display_data',
  {
    data: { 'text/plain': text },
    metadata: {},
    ...(displayId ? { transient: { display_id: displayId } } : {})
  }
];
const update = (text: string, displayId: string): Msg => [
  'update_display_data',
  {
    data: { 'text/plain': text },
    metadata: { updated: true },
    transient: { display_id: displayId }
  }
];
const error = (ename: string, evalue = 'boom'): Msg => [
  'error',
  { ename, evalue, traceback: [`${ename}: ${evalue}`] }
];
const clear = (wait: boolean): Msg => ['clear_output', { wait }];

describe('OutputAccumulator', () => {
  describe('streams', () => {
    it('merges consecutive chunks of one stream into one string', () => {
      expect(accumulate(stdout('a'), stdout('b\n'), stdout('c\n'))).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'ab\nc\n' }
      ]);
    });

    it('keeps stdout and stderr apart, and does not merge across another output', () => {
      expect(
        accumulate(stdout('1\n'), stderr('2\n'), stdout('3\n'), display('x'), stdout('4\n'))
      ).toEqual([
        { output_type: 'stream', name: 'stdout', text: '1\n' },
        { output_type: 'stream', name: 'stderr', text: '2\n' },
        { output_type: 'stream', name: 'stdout', text: '3\n' },
        { output_type: 'display_data', data: { 'text/plain': 'x' }, metadata: {} },
        { output_type: 'stream', name: 'stdout', text: '4\n' }
      ]);
    });

    it('joins multiline text', () => {
      expect(accumulate(['stream', { name: 'stdout', text: ['a\n', 'b\n'] }])).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'a\nb\n' }
      ]);
    });

    it('collapses a \\r progress bar spread over chunks to its last state', () => {
      expect(
        accumulate(
          stdout('a\n'),
          stdout('\r10%'),
          stdout('\r50%'),
          stdout('\r100%\n'),
          stdout('done\n')
        )
      ).toEqual([{ output_type: 'stream', name: 'stdout', text: 'a\n100%\ndone\n' }]);
    });

    it('lets the text after the last \\r win, even when shorter, and within one chunk', () => {
      expect(accumulate(stdout('loss 0.123\rloss 1\n'))[0]).toMatchObject({ text: 'loss 1\n' });
      expect(accumulate(stdout('100%'), stdout('\rok'))[0]).toMatchObject({ text: 'ok' });
    });

    it('keeps the line when a \\r is followed by nothing yet', () => {
      expect(accumulate(stdout('50%\r'))[0]).toMatchObject({ text: '50%' });
      expect(accumulate(stdout('50%\r'), stdout('60%'))[0]).toMatchObject({ text: '60%' });
    });

    it('treats \\r\\n as a plain newline, also across chunks', () => {
      expect(accumulate(stdout('a\r\nb\r\n'))[0]).toMatchObject({ text: 'a\nb\n' });
      expect(accumulate(stdout('a\r'), stdout('\nb\n'))[0]).toMatchObject({ text: 'a\nb\n' });
    });

    it('applies backspace to the previous character, never past a newline', () => {
      expect(accumulate(stdout('abc\b\bd\n'))[0]).toMatchObject({ text: 'ad\n' });
      expect(accumulate(stdout('ab'), stdout('\bc'))[0]).toMatchObject({ text: 'ac' });
      expect(accumulate(stdout('a\n\bb'))[0]).toMatchObject({ text: 'a\nb' });
    });

    it('does not carry \\r state into a separate stream output', () => {
      expect(accumulate(stdout('x\r'), stderr('y'), stdout('z'))).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'x' },
        { output_type: 'stream', name: 'stderr', text: 'y' },
        { output_type: 'stream', name: 'stdout', text: 'z' }
      ]);
    });
  });

  describe('display data', () => {
    it('maps display_data and execute_result with its count, dropping transient', () => {
      expect(
        accumulate(display('a', 'd1'), [
          'execute_result',
          { data: { 'text/plain': '42' }, metadata: { m: 1 }, execution_count: 7 }
        ])
      ).toEqual([
        { output_type: 'display_data', data: { 'text/plain': 'a' }, metadata: {} },
        {
          output_type: 'execute_result',
          data: { 'text/plain': '42' },
          metadata: { m: 1 },
          execution_count: 7
        }
      ]);
    });

    it('defaults a missing execution_count to null', () => {
      expect(accumulate(['execute_result', { data: {}, metadata: {} }])[0]).toMatchObject({
        execution_count: null
      });
    });

    it('updates every output carrying the display id, in place', () => {
      const outputs = accumulate(
        display('v1', 'd1'),
        stdout('between\n'),
        display('other', 'd2'),
        display('v1 again', 'd1'),
        update('v2', 'd1')
      );
      expect(outputs).toHaveLength(4);
      expect(outputs[0]).toEqual({
        output_type: 'display_data',
        data: { 'text/plain': 'v2' },
        metadata: { updated: true }
      });
      expect(outputs[2]).toMatchObject({ data: { 'text/plain': 'other' } });
      expect(outputs[3]).toMatchObject({ data: { 'text/plain': 'v2' } });
    });

    it('updates an execute_result with a display id and keeps its type and count', () => {
      const outputs = accumulate(
        [
          'execute_result',
          {
            data: { 'text/plain': 'r1' },
            metadata: {},
            execution_count: 3,
            transient: { display_id: 'r' }
          }
        ],
        update('r2', 'r')
      );
      expect(outputs).toEqual([
        {
          output_type: 'execute_result',
          data: { 'text/plain': 'r2' },
          metadata: { updated: true },
          execution_count: 3
        }
      ]);
    });

    it('ignores updates of an unknown display id', () => {
      expect(accumulate(display('v1', 'd1'), update('v2', 'nope'))).toEqual([
        { output_type: 'display_data', data: { 'text/plain': 'v1' }, metadata: {} }
      ]);
      expect(accumulate(update('v2', 'nope'))).toEqual([]);
    });

    it('does not alias the message content', () => {
      const content = { data: { 'text/plain': 'a' }, metadata: {} };
      const acc = new OutputAccumulator();
      acc.add('display_data', content);
      content.data['text/plain'] = 'changed';
      const first = acc.outputs();
      (first[0].data as Record<string, unknown>)['text/plain'] = 'mutated';
      expect(acc.outputs()[0]).toMatchObject({ data: { 'text/plain': 'a' } });
    });
  });

  describe('errors', () => {
    it('maps an error to ename, evalue and traceback', () => {
      expect(accumulate(stdout('x\n'), error('ValueError', 'bad'))).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'x\n' },
        {
          output_type: 'error',
          ename: 'ValueError',
          evalue: 'bad',
          traceback: ['ValueError: bad']
        }
      ]);
    });
  });

  describe('clear_output', () => {
    it('clears at once without wait', () => {
      expect(accumulate(stdout('a\n'), display('x'), clear(false))).toEqual([]);
      expect(accumulate(stdout('a\n'), clear(false), stdout('b\n'))).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'b\n' }
      ]);
    });

    it('with wait, clears just before the next output', () => {
      expect(accumulate(stdout('a\n'), clear(true))).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'a\n' }
      ]);
      expect(accumulate(stdout('a\n'), clear(true), stdout('b\n'))).toEqual([
        { output_type: 'stream', name: 'stdout', text: 'b\n' }
      ]);
      expect(accumulate(display('frame 1'), clear(true), display('frame 2'))).toEqual([
        { output_type: 'display_data', data: { 'text/plain': 'frame 2' }, metadata: {} }
      ]);
    });

    it('resets display ids on clear', () => {
      expect(
        accumulate(display('v1', 'd1'), clear(false), display('x'), update('v2', 'd1'))
      ).toEqual([{ output_type: 'display_data', data: { 'text/plain': 'x' }, metadata: {} }]);
      const outputs = accumulate(
        display('v1', 'd1'),
        clear(true),
        display('v1b', 'd1'),
        update('v2', 'd1')
      );
      expect(outputs).toEqual([
        { output_type: 'display_data', data: { 'text/plain': 'v2' }, metadata: { updated: true } }
      ]);
    });
  });

  it('returns JSON-serialisable outputs', () => {
    const outputs = accumulate(stdout('a\n'), display('x', 'd'), error('E'));
    expect(JSON.parse(JSON.stringify(outputs))).toEqual(outputs);
  });
});

describe('labelWithRank', () => {
  it('prefixes every line of a stream, but not after a trailing newline', () => {
    const labelled = labelWithRank({ output_type: 'stream', name: 'stdout', text: 'a\nb\n' }, 3);
    expect(labelled).toEqual({
      output_type: 'stream',
      name: 'stdout',
      text: '[rank 3] a\n[rank 3] b\n'
    });
    expect(labelWithRank({ output_type: 'stream', name: 'stdout', text: 'a\nb' }, 1)).toMatchObject(
      { text: '[rank 1] a\n[rank 1] b' }
    );
  });

  it('adds a first traceback line to an error, keeping ename and evalue', () => {
    const original: IOutput = {
      output_type: 'error',
      ename: 'E',
      evalue: 'v',
      traceback: ['line']
    };
    expect(labelWithRank(original, 2)).toEqual({
      output_type: 'error',
      ename: 'E',
      evalue: 'v',
      traceback: ['\u001b[1;31m[rank 2]\u001b[0m', 'line']
    });
    expect(original.traceback).toEqual(['line']);
  });

  it('marks display outputs in metadata and prefixes text/plain', () => {
    expect(
      labelWithRank(
        {
          output_type: 'execute_result',
          data: { 'text/plain': '42', 'text/html': '<b>42</b>' },
          metadata: { keep: 1 },
          execution_count: 5
        },
        1
      )
    ).toEqual({
      output_type: 'execute_result',
      data: { 'text/plain': '[rank 1] 42', 'text/html': '<b>42</b>' },
      metadata: { keep: 1, ddp: { rank: 1 } },
      execution_count: 5
    });
    expect(
      labelWithRank({ output_type: 'display_data', data: { 'image/png': 'AAA' }, metadata: {} }, 0)
    ).toEqual({
      output_type: 'display_data',
      data: { 'image/png': 'AAA' },
      metadata: { ddp: { rank: 0 } }
    });
  });
});

describe('ddpCellOutputs', () => {
  let seq = 0;
  const ev = (rank: number, [msgType, content]: Msg): OutputEvent => ({
    execution: 'e1',
    rank,
    seq: seq++,
    msgType,
    content
  });

  const tracebackHead = (rank: number) => `\u001b[1;31m[rank ${rank}]\u001b[0m`;

  it("'rank0' shows rank 0 unlabelled plus other ranks' errors, labelled", () => {
    // Ranks interleaved, rank 1 before rank 0.
    const events = [
      ev(1, stdout('r1 out\n')),
      ev(0, stdout('r0 out\n')),
      ev(1, error('RuntimeError', 'r1 failed')),
      ev(0, display('plot')),
      ev(2, stdout('r2 out\n'))
    ];
    expect(ddpCellOutputs(events, 'rank0')).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'r0 out\n' },
      { output_type: 'display_data', data: { 'text/plain': 'plot' }, metadata: {} },
      {
        output_type: 'error',
        ename: 'RuntimeError',
        evalue: 'r1 failed',
        traceback: [tracebackHead(1), 'RuntimeError: r1 failed']
      }
    ]);
  });

  it("'rank0' shows rank 0's own error unlabelled", () => {
    expect(ddpCellOutputs([ev(0, error('E'))], 'rank0')).toEqual([
      { output_type: 'error', ename: 'E', evalue: 'boom', traceback: ['E: boom'] }
    ]);
  });

  it('accumulates each rank separately, so a clear on one rank spares the others', () => {
    const events = [
      ev(0, stdout('a\n')),
      ev(1, stdout('b\n')),
      ev(1, clear(false)),
      ev(0, stdout('c\n')),
      ev(1, stdout('d\n'))
    ];
    expect(ddpCellOutputs(events, 'all')).toEqual([
      { output_type: 'stream', name: 'stdout', text: '[rank 0] a\n[rank 0] c\n' },
      { output_type: 'stream', name: 'stdout', text: '[rank 1] d\n' }
    ]);
  });

  it("'all' orders ranks ascending and labels every output", () => {
    const events = [
      ev(2, stdout('two\n')),
      ev(0, stdout('zero\n')),
      ev(1, ['execute_result', { data: { 'text/plain': '1' }, metadata: {}, execution_count: 4 }]),
      ev(1, error('E', 'one'))
    ];
    expect(ddpCellOutputs(events, 'all')).toEqual([
      { output_type: 'stream', name: 'stdout', text: '[rank 0] zero\n' },
      {
        output_type: 'execute_result',
        data: { 'text/plain': '[rank 1] 1' },
        metadata: { ddp: { rank: 1 } },
        execution_count: 4
      },
      { output_type: 'error', ename: 'E', evalue: 'one', traceback: [tracebackHead(1), 'E: one'] },
      { output_type: 'stream', name: 'stdout', text: '[rank 2] two\n' }
    ]);
  });

  it("a rank list shows those ranks labelled, plus other ranks' errors", () => {
    const events = [
      ev(0, stdout('zero\n')),
      ev(1, stdout('one\n')),
      ev(1, error('E', 'one')),
      ev(2, stdout('two\n')),
      ev(3, stdout('three\n'))
    ];
    expect(ddpCellOutputs(events, [2, 0])).toEqual([
      { output_type: 'stream', name: 'stdout', text: '[rank 0] zero\n' },
      { output_type: 'stream', name: 'stdout', text: '[rank 2] two\n' },
      { output_type: 'error', ename: 'E', evalue: 'one', traceback: [tracebackHead(1), 'E: one'] }
    ]);
  });

  it("'rank0' falls back to the lowest rank present when rank 0 did not run", () => {
    const events = [ev(3, stdout('three\n')), ev(2, stdout('two\n')), ev(3, error('E', 'three'))];
    expect(ddpCellOutputs(events, 'rank0')).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'two\n' },
      {
        output_type: 'error',
        ename: 'E',
        evalue: 'three',
        traceback: [tracebackHead(3), 'E: three']
      }
    ]);
  });

  it('returns nothing without events', () => {
    expect(ddpCellOutputs([], 'rank0')).toEqual([]);
    expect(ddpCellOutputs([], 'all')).toEqual([]);
    expect(ddpCellOutputs([], [0])).toEqual([]);
  });
});

describe('composeCell', () => {
  const store = (...events: [number, Msg][]) => {
    const buffers = new RankBuffers();
    for (const [rank, [msgType, content]] of events) {
      buffers.rank(rank).add(msgType, content);
    }
    return buffers;
  };
  const outputsOf = (composed: ComposedOutput[]) => composed.map(c => c.output());

  it("'rank0' shows the execution's main rank, even when it printed nothing", () => {
    const buffers = store([1, stdout('one\n')]);
    expect(outputsOf(composeCell(buffers, 'rank0', { ranks: [0, 1] }))).toEqual([]);
    expect(outputsOf(composeCell(buffers, 'rank0', { ranks: [1, 2] }))).toEqual([
      { output_type: 'stream', name: 'stdout', text: 'one\n' }
    ]);
  });

  it('keeps the last maxChars of stream text from a line start, saying so first', () => {
    const buffers = store([0, stdout('first\n')], [0, display('plot')], [0, stdout('ab\ncd\n')]);
    expect(outputsOf(composeCell(buffers, 'rank0', { maxChars: 5, cutNote: 'cut' }))).toEqual([
      { output_type: 'stream', name: 'stderr', text: 'cut\n' },
      { output_type: 'display_data', data: { 'text/plain': 'plot' }, metadata: {} },
      { output_type: 'stream', name: 'stdout', text: 'cd\n' }
    ]);
  });

  it('keeps the key of an output while it grows, and changes its sig', () => {
    const buffers = store([0, stdout('a\n')]);
    const [before] = composeCell(buffers, 'all');
    buffers.rank(0).add(...stdout('b\n'));
    const [after] = composeCell(buffers, 'all');
    expect(after.key).toBe(before.key);
    expect(after.sig).not.toBe(before.sig);
    expect(after.output()).toEqual({
      output_type: 'stream',
      name: 'stdout',
      text: '[rank 0] a\n[rank 0] b\n'
    });
  });
});

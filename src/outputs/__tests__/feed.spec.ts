import type { IStream } from '@jupyterlab/nbformat';

import type { ExecutionRecord, ExecutionSummary, OutputEvent } from '../../protocol/api';
import { ExecutionFeed, FetchRecord } from '../feed';
import { RankBuffer } from '../rank-buffer';

const summary = (nextSeq: number, status: ExecutionSummary['status'] = 'running') =>
  ({
    id: 'x',
    ranks: [0, 1],
    status,
    rankStatus: {},
    executionCount: {},
    startedAt: 0,
    rankEndedAt: {},
    nextSeq
  }) satisfies ExecutionSummary;
const line = (seq: number, rank = 0, text = `${seq}\n`): OutputEvent => ({
  execution: 'x',
  seq,
  rank,
  msgType: 'stream',
  content: { name: 'stdout', text }
});
const textOf = (buffer: RankBuffer) =>
  buffer.outputs.map(o => (o.output_type === 'stream' ? (o as IStream).text : '')).join('');
const settle = () => new Promise(resolve => setTimeout(resolve, 0));

/** A server whose answers the test gives, one fetch at a time. */
function server() {
  const asked: number[] = [];
  const answers: ((record: ExecutionRecord | null | Error) => void)[] = [];
  const fetch: FetchRecord = (_id, since) => {
    asked.push(since);
    return new Promise((resolve, reject) =>
      answers.push(answer => (answer instanceof Error ? reject(answer) : resolve(answer)))
    );
  };
  /** Answer the oldest fetch with the server's record: outputs from `dropped` on. */
  const answer = async (
    execution: ExecutionSummary,
    events: OutputEvent[] | null | Error,
    dropped = 0
  ) => {
    const reply = answers.shift()!;
    const since = asked[asked.length - answers.length - 1];
    reply(
      events === null || events instanceof Error
        ? events
        : { execution, outputs: events.filter(e => e.seq >= Math.max(since, dropped)), dropped }
    );
    await settle();
  };
  return { fetch, asked, answer };
}

describe('ExecutionFeed', () => {
  it('applies the socket’s outputs in order and fetches nothing when none is missing', async () => {
    const { fetch, asked } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.setSummary(summary(0), true);
    [0, 1, 2].forEach(seq => feed.addOutput(line(seq, seq % 2)));
    feed.setSummary(summary(3, 'ok'), true);
    expect(await feed.ended).toMatchObject({ status: 'ok', nextSeq: 3 });
    expect(asked).toEqual([]);
    expect(textOf(feed.outputs.rank(0))).toBe('0\n2\n');
    expect(textOf(feed.outputs.rank(1))).toBe('1\n');
    expect(feed.isComplete).toBe(true);
    feed.reconnected();
    expect(asked).toEqual([]);
    feed.dispose();
  });

  it('fetches from the first missing output when the end’s nextSeq says one is missing', async () => {
    const { fetch, asked, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    let ended: ExecutionSummary | null = null;
    void feed.ended.then(s => (ended = s));
    feed.setSummary(summary(0), true);
    feed.addOutput(line(0));
    feed.addOutput(line(1));
    const end = summary(3, 'ok');
    feed.setSummary(end, true);
    expect(asked).toEqual([2]);
    await settle();
    expect(ended).toBeNull();
    await answer(end, [line(0), line(1), line(2)]);
    expect(ended).toBe(end);
    expect(textOf(feed.outputs.rank(0))).toBe('0\n1\n2\n');
    feed.dispose();
  });

  it('fetches once for a hole in the sequence, and applies what waited behind it in order', async () => {
    const { fetch, asked, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.setSummary(summary(0), true);
    feed.addOutput(line(0));
    feed.addOutput(line(3));
    feed.addOutput(line(4));
    expect(asked).toEqual([1]);
    expect(textOf(feed.outputs.rank(0))).toBe('0\n');
    await answer(summary(4), [line(1), line(2), line(3)]);
    expect(textOf(feed.outputs.rank(0))).toBe('0\n1\n2\n3\n4\n');
    expect(feed.outputs.missed).toBe(0);
    feed.dispose();
  });

  it('goes on from what the server still has, and counts what it dropped', async () => {
    const { fetch, asked, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.setSummary(summary(10, 'ok'), false); // from REST: outputs may have gone by unheard
    feed.catchUp();
    expect(asked).toEqual([0]);
    const kept = [6, 7, 8, 9].map(seq => line(seq));
    await answer(summary(10, 'ok'), kept, 6);
    expect(feed.outputs.missed).toBe(6);
    expect(textOf(feed.outputs.rank(0))).toBe('6\n7\n8\n9\n');
    expect(await feed.ended).toMatchObject({ status: 'ok' });
    feed.dispose();
  });

  it('catches up after a reconnect only while incomplete, and again after a fetch the drop outdated', async () => {
    const { fetch, asked, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.setSummary(summary(0), true);
    feed.addOutput(line(0));
    feed.reconnected();
    expect(asked).toEqual([1]);
    feed.addOutput(line(5)); // from the new socket, past what the drop lost
    feed.reconnected(); // a second drop while the fetch runs
    expect(asked).toEqual([1]);
    await answer(summary(3), [line(1), line(2)]);
    // The first answer predates the second drop: the hole before 5 is not given up, but fetched.
    expect(asked).toEqual([1, 3]);
    expect(feed.outputs.missed).toBe(0);
    await answer(
      summary(6, 'ok'),
      [3, 4, 5].map(seq => line(seq))
    );
    expect(textOf(feed.outputs.rank(0))).toBe('0\n1\n2\n3\n4\n5\n');
    expect(await feed.ended).toMatchObject({ status: 'ok', nextSeq: 6 });
    feed.dispose();
  });

  it('ends with the last summary when the server no longer knows the execution', async () => {
    const { fetch, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.setSummary(summary(0), true);
    feed.addOutput(line(0));
    feed.reconnected();
    await answer(summary(0), null);
    expect(feed.lost).toBe(true);
    expect(await feed.ended).toMatchObject({ status: 'running' });
    feed.reconnected();
    expect(textOf(feed.outputs.rank(0))).toBe('0\n');
    feed.dispose();
  });

  it('ends with what came when the fetch at its end fails, counting what never came', async () => {
    const { fetch, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.setSummary(summary(0), true);
    feed.addOutput(line(0));
    feed.addOutput(line(2));
    feed.setSummary(summary(4, 'error'), true);
    await answer(summary(4, 'error'), new Error('network down'));
    expect(await feed.ended).toMatchObject({ status: 'error' });
    expect(textOf(feed.outputs.rank(0))).toBe('0\n2\n');
    expect(feed.outputs.missed).toBe(2);
    expect(feed.lost).toBe(false);
    feed.dispose();
  });

  it('says it is lost when nothing could be learnt of it', async () => {
    const { fetch, asked, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.catchUp();
    await answer(summary(0), new Error('network down'));
    expect(feed.lost).toBe(true);
    feed.reconnected();
    expect(asked).toEqual([0, 0]);
    await answer(summary(1, 'ok'), [line(0)]);
    expect(feed.lost).toBe(false);
    expect(feed.summary).toMatchObject({ status: 'ok' });
    feed.dispose();
  });

  it('keeps the end when a record fetched before it answers after it', async () => {
    const { fetch, answer } = server();
    const feed = new ExecutionFeed('x', fetch);
    feed.catchUp();
    feed.setSummary(summary(0, 'ok'), true);
    await answer(summary(0), []);
    expect(feed.summary).toMatchObject({ status: 'ok' });
    feed.dispose();
  });

  it('says outputs changed once a burst, at most every render interval, and at once at the end', () => {
    jest.useFakeTimers();
    try {
      const feed = new ExecutionFeed('x', server().fetch);
      let changes = 0;
      feed.outputsChanged.connect(() => changes++);
      feed.setSummary(summary(0), true);
      for (let seq = 0; seq < 1000; seq++) {
        feed.addOutput(line(seq));
      }
      expect(changes).toBe(0);
      jest.runOnlyPendingTimers();
      expect(changes).toBe(1);
      feed.addOutput(line(1000));
      feed.setSummary(summary(1001, 'ok'), true);
      expect(changes).toBe(2);
      jest.runOnlyPendingTimers();
      expect(changes).toBe(2);
      feed.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});

import { Signal } from '@lumino/signaling';

import type { ExecutionRecord, ExecutionSummary, OutputEvent } from '../../protocol/api';
import { ExecutionFeeds, FeedSource } from '../feeds';

const summary = (id: string, nextSeq = 0): ExecutionSummary => ({
  id,
  ranks: [0],
  status: 'running',
  rankStatus: {},
  executionCount: {},
  startedAt: 0,
  rankEndedAt: {},
  nextSeq
});
const line = (execution: string, seq: number): OutputEvent => ({
  execution,
  seq,
  rank: 0,
  msgType: 'stream',
  content: { name: 'stdout', text: `${seq}\n` }
});

/** A socket the test emits on, and a server that knows every execution and has no outputs. */
function source() {
  const owner = {};
  const output = new Signal<object, OutputEvent>(owner);
  const execution = new Signal<object, ExecutionSummary>(owner);
  const reconnected = new Signal<object, void>(owner);
  const fetched: string[] = [];
  const record = (id: string): Promise<ExecutionRecord> => {
    fetched.push(id);
    return Promise.resolve({ execution: summary(id), outputs: [], dropped: 0 });
  };
  const src: FeedSource = { output, execution, reconnected, record };
  return { src, output, execution, reconnected, fetched };
}

describe('ExecutionFeeds', () => {
  it('gives every view of an execution one feed, fetching nothing for a live summary', () => {
    const { src, output, fetched } = source();
    const feeds = new ExecutionFeeds(src);
    const cell = feeds.open('a', summary('a'), true);
    const panel = feeds.open('a', summary('a'));
    expect(panel.feed).toBe(cell.feed);
    output.emit(line('a', 0));
    output.emit(line('b', 0)); // no view shows it
    expect(cell.feed.outputs.firstMissing).toBe(1);
    expect(feeds.get('b')).toBeUndefined();
    expect(fetched).toEqual([]);
    cell.dispose();
    cell.dispose();
    expect(feeds.get('a')).toBe(panel.feed);
    panel.dispose();
    expect(feeds.get('a')).toBeUndefined();
    expect(panel.feed.isDisposed).toBe(true);
  });

  it('fetches the record of an execution opened without a live summary', () => {
    const { src, fetched } = source();
    const feeds = new ExecutionFeeds(src);
    feeds.open('a').dispose();
    feeds.open('b', summary('b')).dispose();
    expect(fetched).toEqual(['a', 'b']);
  });

  it('hands each feed its summaries and the reconnects', () => {
    const { src, execution, reconnected, fetched } = source();
    const feeds = new ExecutionFeeds(src);
    const hold = feeds.open('a', summary('a'), true);
    execution.emit({ ...summary('a'), rankStatus: { 0: 'ok' } });
    expect(hold.feed.summary?.rankStatus).toEqual({ 0: 'ok' });
    reconnected.emit();
    expect(fetched).toEqual(['a']);
    hold.dispose();
  });
});

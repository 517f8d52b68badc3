import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import type { IDdpClient } from '../../client/tokens';
import { RENDER_INTERVAL_MS } from '../../outputs/feed';
import { ExecutionFeeds } from '../../outputs/feeds';
import type { ExecutionRecord, ExecutionSummary, OutputEvent } from '../../protocol/api';
import { RankOutputsPanel } from '../widget';

const summary = (id: string): ExecutionSummary => ({
  id,
  ranks: [0, 1],
  status: 'running',
  rankStatus: {},
  executionCount: {},
  startedAt: 0,
  rankEndedAt: {},
  nextSeq: 0
});
const line = (execution: string, seq: number, rank: number, text: string): OutputEvent => ({
  execution,
  seq,
  rank,
  msgType: 'stream',
  content: { name: 'stdout', text }
});

describe('RankOutputsPanel', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('shows the running execution from the feed its cell holds, and lets go of it for another', () => {
    const owner = {};
    const output = new Signal<object, OutputEvent>(owner);
    const execution = new Signal<object, ExecutionSummary>(owner);
    const fetched: string[] = [];
    const feeds = new ExecutionFeeds({
      output,
      execution,
      reconnected: new Signal<object, void>(owner),
      record: (id): Promise<ExecutionRecord> => {
        fetched.push(id);
        return new Promise(() => undefined);
      }
    });
    const client = { connection: { execution } } as unknown as IDdpClient;
    const panel = new RankOutputsPanel({
      client,
      feeds,
      rendermime: new RenderMimeRegistry({ initialFactories: standardRendererFactories }),
      trans: nullTranslator.load('jupyterlab_ddp'),
      describe: () => 'train.ipynb, cell 1'
    });
    Widget.attach(panel, document.body);

    // The cell holds its feed from the execute reply; the panel follows the announcement.
    const cell = feeds.open('a', summary('a'), true);
    execution.emit(summary('a'));
    expect(panel.executionId).toBe('a');
    output.emit(line('a', 0, 0, 'zero\n'));
    output.emit(line('a', 1, 1, 'one\n'));
    jest.advanceTimersByTime(RENDER_INTERVAL_MS);
    const pane = (rank: number) =>
      panel.node.querySelector<HTMLElement>(`.jp-ddp-RankPane[data-rank="${rank}"]`)!;
    expect(pane(0).textContent).toContain('zero');
    expect(panel.node.querySelectorAll('[role="tab"]')).toHaveLength(2);
    expect(panel.node.querySelector('.jp-ddp-RankPanel-status')!.textContent).toBe('running');

    panel.showExecution('b');
    expect(fetched).toEqual(['b']);
    output.emit(line('a', 2, 0, 'later\n'));
    jest.advanceTimersByTime(RENDER_INTERVAL_MS);
    expect(panel.node.querySelectorAll('.jp-ddp-RankPane')).toHaveLength(0);
    expect(panel.node.querySelector('.jp-ddp-RankPanel-status')!.textContent).toBe('loading…');
    expect(feeds.get('a')).toBe(cell.feed);

    panel.dispose();
    cell.dispose();
    expect(feeds.get('b')).toBeUndefined();
  });
});

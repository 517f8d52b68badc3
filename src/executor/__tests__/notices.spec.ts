import { nullTranslator } from '@jupyterlab/translation';

import type { ExecutionSummary, RankProblem } from '../../protocol/api';
import { rankList } from '../../protocol/group-text';
import { cellNotices, needsTicking, stragglerNotice } from '../notices';

const trans = nullTranslator.load('jupyterlab_ddp');
const T0 = 1_700_000_000_000;

/** An execution on ranks 0–3 that started at T0; `ended`: rank → when it finished. */
function running(ended: Record<number, number>, extra: Partial<ExecutionSummary> = {}) {
  const summary: ExecutionSummary = {
    id: 'e',
    ranks: [0, 1, 2, 3],
    status: 'running',
    rankStatus: Object.fromEntries(Object.keys(ended).map(r => [r, 'ok'])),
    executionCount: {},
    startedAt: T0,
    rankEndedAt: ended,
    nextSeq: 0,
    ...extra
  };
  return summary;
}

describe('cell notices', () => {
  it('names ranks in the singular and the plural', () => {
    expect(rankList([1], trans)).toBe('rank 1');
    expect(rankList([0, 2, 3], trans)).toBe('ranks 0, 2, 3');
  });

  it('names a rank still running 5 s after the others finished, seconds counting up', () => {
    const summary = running({ 0: T0 + 1000, 2: T0 + 1500, 3: T0 + 2000 });
    expect(stragglerNotice(summary, T0 + 6000, trans)).toBeNull();
    expect(stragglerNotice(summary, T0 + 7000, trans)?.text).toBe(
      'rank 1 still running, 5 s after ranks 0, 2, 3 finished: a collective the others did not call?'
    );
    expect(stragglerNotice(summary, T0 + 22_500, trans)?.text).toMatch(
      /^rank 1 still running, 20 s after/
    );
    expect(stragglerNotice(summary, T0 + 22_500, trans)?.offerRestart).toBe(false);
  });

  it('says nothing of stragglers while no rank or every rank finished, or after the end', () => {
    expect(stragglerNotice(running({}), T0 + 60_000, trans)).toBeNull();
    const all = running({ 0: T0, 1: T0, 2: T0, 3: T0 });
    expect(stragglerNotice(all, T0 + 60_000, trans)).toBeNull();
    const ended = running({ 0: T0 }, { status: 'aborted' });
    expect(stragglerNotice(ended, T0 + 60_000, trans)).toBeNull();
    expect(cellNotices(ended, [], T0 + 60_000, trans)).toEqual([]);
  });

  it('ticks only while some ranks finished and others run, or an interrupt was ignored', () => {
    expect(needsTicking(running({}))).toBe(false);
    expect(needsTicking(running({ 0: T0 }))).toBe(true);
    expect(needsTicking(running({ 0: T0, 1: T0, 2: T0, 3: T0 }))).toBe(false);
    expect(needsTicking(running({}, { interruptIgnored: [1] }))).toBe(true);
    expect(needsTicking(running({ 0: T0 }, { status: 'ok' }))).toBe(false);
  });

  it('says an interrupt did not stop a rank and offers a restart, instead of the straggler', () => {
    const summary = running(
      { 0: T0 + 100, 2: T0 + 100, 3: T0 + 100 },
      { interruptedAt: T0 + 10_000, interruptIgnored: [1] }
    );
    const notices = cellNotices(summary, [], T0 + 15_200, trans);
    expect(notices).toEqual([
      {
        kind: 'interrupt-ignored',
        offerRestart: true,
        text: 'The interrupt did not stop rank 1 within 5 s: gloo/NCCL collectives ignore interrupts. Restart the group to free it.'
      }
    ]);
  });

  it('shows the group’s problems with the execution’s unfinished ranks, in the server’s words', () => {
    const problems: RankProblem[] = [
      { rank: 2, kind: 'unresponsive', since: T0, message: 'rank 2 does not answer: …' },
      { rank: 0, kind: 'blocked', since: T0, message: 'rank 0 is blocked' },
      { rank: 1, kind: 'interrupt-ignored', since: T0, message: 'rank 1 ignored it' }
    ];
    const summary = running({ 0: T0 }, { interruptedAt: T0, interruptIgnored: [1] });
    const notices = cellNotices(summary, problems, T0 + 1000, trans);
    // Rank 0 finished; rank 1's ignored interrupt is said once, by the interrupt notice.
    expect(notices.map(n => [n.kind, n.offerRestart])).toEqual([
      ['unresponsive', true],
      ['interrupt-ignored', true]
    ]);
    expect(notices[0].text).toBe('rank 2 does not answer: …');
    expect(notices[1].text).toMatch(/^The interrupt did not stop rank 1/);
  });
});

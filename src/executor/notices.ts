/**
 * What a running DDP cell says about its ranks besides their outputs: a rank the group reports a
 * problem with, a rank still running long after the others finished, an interrupt that did not
 * stop a rank. Pure functions (type-only imports), unit-tested without a browser.
 */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { ExecutionSummary, RankProblem } from '../protocol/api';
import { rankList } from '../protocol/group-text';

/** A rank still running this long after the others finished is named in the cell. */
export const STRAGGLER_AFTER_MS = 5000;

export interface CellNotice {
  kind: RankProblem['kind'] | 'straggler';
  text: string;
  /** Only a restart of the group frees the rank: the notice offers one. */
  offerRestart: boolean;
}

/** The execution's ranks that have not finished, and those that have (by `rankEndedAt`). */
function split(summary: ExecutionSummary): { running: number[]; ended: number[] } {
  const ended = summary.ranks.filter(r => summary.rankEndedAt[r] !== undefined);
  return { running: summary.ranks.filter(r => !ended.includes(r)), ended };
}

/**
 * "rank 1 still running, 20 s after ranks 0, 2, 3 finished: …", once the last of the others
 * finished STRAGGLER_AFTER_MS ago (`serverNow`: the server's clock, as `rankEndedAt`).
 */
export function stragglerNotice(
  summary: ExecutionSummary,
  serverNow: number,
  trans: TranslationBundle
): CellNotice | null {
  const { running, ended } = split(summary);
  if (summary.status !== 'running' || running.length === 0 || ended.length === 0) {
    return null;
  }
  const elapsed = serverNow - Math.max(...ended.map(r => summary.rankEndedAt[r]));
  if (elapsed < STRAGGLER_AFTER_MS) {
    return null;
  }
  return {
    kind: 'straggler',
    offerRestart: false,
    text: trans.__(
      '%1 still running, %2 s after %3 finished: a collective the others did not call?',
      rankList(running, trans),
      Math.floor(elapsed / 1000),
      rankList(ended, trans)
    )
  };
}

/** The ranks an interrupt did not stop (`interruptIgnored`), and how long ago it was sent. */
export function interruptNotice(
  summary: ExecutionSummary,
  serverNow: number,
  trans: TranslationBundle
): CellNotice | null {
  const ranks = summary.interruptIgnored ?? [];
  if (summary.status !== 'running' || ranks.length === 0) {
    return null;
  }
  const since = summary.interruptedAt ?? serverNow;
  return {
    kind: 'interrupt-ignored',
    offerRestart: true,
    text: trans.__(
      'The interrupt did not stop %1 within %2 s: gloo/NCCL collectives ignore interrupts. Restart the group to free it.',
      rankList(ranks, trans),
      Math.max(1, Math.floor((serverNow - since) / 1000))
    )
  };
}

/**
 * Everything a running cell says: the group's problems with its unfinished ranks (in the
 * server's words, which say what to do), then the interrupt that did not stop some, or else a
 * straggler.
 */
export function cellNotices(
  summary: ExecutionSummary,
  problems: RankProblem[],
  serverNow: number,
  trans: TranslationBundle
): CellNotice[] {
  if (summary.status !== 'running') {
    return [];
  }
  const { running } = split(summary);
  const interrupt = interruptNotice(summary, serverNow, trans);
  const ignored = summary.interruptIgnored ?? [];
  const notices: CellNotice[] = problems
    .filter(p => running.includes(p.rank))
    // The interrupt notice below says it for these.
    .filter(p => !(p.kind === 'interrupt-ignored' && ignored.includes(p.rank)))
    .map(p => ({ kind: p.kind, text: p.message, offerRestart: true }));
  const timed = interrupt ?? stragglerNotice(summary, serverNow, trans);
  return timed ? [...notices, timed] : notices;
}

/**
 * Whether the cell's notices change with time alone: some ranks finished while others run, or an
 * interrupt was ignored (their seconds count up).
 */
export function needsTicking(summary: ExecutionSummary): boolean {
  if (summary.status !== 'running') {
    return false;
  }
  const { running, ended } = split(summary);
  return (running.length > 0 && ended.length > 0) || (summary.interruptIgnored ?? []).length > 0;
}

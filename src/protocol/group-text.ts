/**
 * The group in words, as the status bar and the `%makedip` line of a cell (in the UI and in
 * `jupyter-ddp run`) say it. Pure functions over {@link Texts}: loads in both the browser and Node.
 */
import type { GroupInfo, GroupSummary, RankProblem } from './api';
import type { Texts } from './texts';

/** "rank 1", "ranks 0, 2, 3". */
export function rankList(ranks: number[], trans: Texts): string {
  return trans._n('rank %2', 'ranks %2', ranks.length, ranks.join(', '));
}

/** The status-bar label for a group; null means no jupyter-ddp server answers. */
export function statusText(group: GroupSummary | null, trans: Texts): string {
  if (group === null) {
    return trans.__('DDP: no server');
  }
  switch (group.state) {
    case 'stopped':
      return trans.__('DDP: stopped');
    case 'failed':
      return group.error ? trans.__('DDP: failed — %1', group.error) : trans.__('DDP: failed');
    default: {
      const device = group.device === 'gpu' ? trans.__('GPU') : trans.__('CPU');
      const state =
        group.state === 'starting'
          ? trans.__('starting')
          : group.state === 'busy'
            ? trans.__('busy')
            : trans.__('ready');
      const text = trans.__('DDP: %1 x %2 %3', group.worldSize, device, state);
      const problems = problemsText(group.problems ?? [], trans);
      return problems ? trans.__('%1 — %2', text, problems) : text;
    }
  }
}

/** "rank 2 not responding; rank 1 ignored the interrupt", ranks grouped by kind ('' if none). */
export function problemsText(problems: RankProblem[], trans: Texts): string {
  const byKind = new Map<RankProblem['kind'], number[]>();
  for (const { kind, rank } of problems) {
    byKind.set(kind, [...(byKind.get(kind) ?? []), rank]);
  }
  return [...byKind]
    .map(([kind, ranks]) => {
      const named = rankList(
        [...new Set(ranks)].sort((a, b) => a - b),
        trans
      );
      switch (kind) {
        case 'unresponsive':
          return trans.__('%1 not responding', named);
        case 'blocked':
          return trans.__('%1 blocked', named);
        case 'interrupt-ignored':
          return trans.__('%1 ignored the interrupt', named);
      }
    })
    .join('; ');
}

/** The hover text: what the label means and what to do about it. */
export function statusTitle(group: GroupSummary | null, trans: Texts): string {
  if (group === null) {
    return trans.__(
      'No jupyter-ddp server answers. Start JupyterLab with `jupyter-ddp lab` to run cells on DDP ranks.'
    );
  }
  const title = trans.__(
    'DistributedDataParallel group: %1. Click for the group controls.',
    group.state
  );
  // The server's own sentences: what is wrong with each rank, and what to do.
  return [title, ...(group.problems ?? []).map(p => p.message)].join('\n');
}

/** What `%makedip` prints: "DDP: 2 x CPU ready (gloo): rank 0 pid 41, rank 1 pid 42". */
export function groupLine(info: GroupInfo, trans: Texts): string {
  const ranks = info.ranks.map(r => trans.__('rank %1 pid %2', r.rank, r.pid ?? '?')).join(', ');
  const backend = info.backend ? ` (${info.backend})` : '';
  return `${statusText(info, trans)}${backend}${ranks ? `: ${ranks}` : ''}`;
}

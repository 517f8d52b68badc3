/**
 * The `ddp` metadata of a cell and of a notebook, read and checked: the one reader behind how the
 * UI and `jupyter-ddp run` decide where a cell runs and whose output it shows. A value that is
 * not one of the allowed ones is a problem, said in words that name the key and the value; the
 * caller decides whether it refuses (planning a run does) or only ignores it (a badge does).
 * Pure logic: loads in both the browser and Node.
 */
import type { CellMode } from './cell-mode';
import type { RankView } from './outputs';

export const CELL_MODES: readonly CellMode[] = ['local', 'ddp', 'everywhere'];

/** A cell's metadata `ddp`. */
export interface CellDdp {
  /** `mode`: where the cell runs; null when it is unmarked. */
  mode: CellMode | null;
  /** `show`: whose outputs it shows; null when the notebook (or the default) decides. */
  show: RankView | null;
  /**
   * `ranksCount`: the ranks' execution count the cell last showed. Bookkeeping that every run
   * rewrites, not a choice of the user's: anything but a number reads as none, and is no problem.
   */
  ranksCount: number | null;
}

/** A notebook's metadata `ddp`, which `%autodip` and the Auto-DDP toggle write. */
export interface NotebookDdp {
  /** `auto`: unmarked cells run on the ranks. */
  auto: boolean;
  /** `show`: whose outputs its DDP cells show, from `%autodip on --see` (or `-q`: none). */
  show: RankView | null;
}

/** What is wrong with each key read (`ddp`: the whole of it), in words naming key and value. */
export type Problems<T> = { [K in keyof T | 'ddp']?: string };

/** What was read, with what was wrong with it (the wrong values read as absent). */
export interface Checked<T> {
  value: T;
  problems: Problems<T>;
}

type Where = 'cell' | 'notebook';

/** The `ddp` object of the metadata, or why there is none; null and absent are the same. */
function ddpOf(
  metadata: unknown,
  where: Where,
  problems: Problems<unknown>
): Record<string, unknown> {
  const ddp = isRecord(metadata) ? metadata.ddp : undefined;
  if (ddp === undefined || ddp === null) {
    return {};
  }
  if (!isRecord(ddp)) {
    problems.ddp = `${where} metadata ddp must be an object, not ${JSON.stringify(ddp)}`;
    return {};
  }
  return ddp;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `ddp.show`: 'all', 'rank0', or a list of ranks ([] shows none: `-q`). */
function readShow(
  ddp: Record<string, unknown>,
  where: Where,
  problems: Problems<{ show: unknown }>
): RankView | null {
  const show = ddp.show;
  if (show === undefined || show === null) {
    return null;
  }
  if (show === 'all' || show === 'rank0') {
    return show;
  }
  if (Array.isArray(show) && show.every(r => Number.isInteger(r) && r >= 0)) {
    return show as number[];
  }
  problems.show =
    `${where} metadata ddp.show must be "all", "rank0" or a list of ranks such as [0, 2], ` +
    `not ${JSON.stringify(show)}`;
  return null;
}

/** Reads a cell's metadata (the whole of it: `{ ddp: … }`). */
export function readCellDdp(metadata: unknown): Checked<CellDdp> {
  const problems: Problems<CellDdp> = {};
  const ddp = ddpOf(metadata, 'cell', problems);
  let mode: CellMode | null = null;
  if (CELL_MODES.includes(ddp.mode as CellMode)) {
    mode = ddp.mode as CellMode;
  } else if (ddp.mode !== undefined && ddp.mode !== null) {
    problems.mode =
      `cell metadata ddp.mode must be one of ${CELL_MODES.map(m => `"${m}"`).join(', ')}, ` +
      `not ${JSON.stringify(ddp.mode)}`;
  }
  const show = readShow(ddp, 'cell', problems);
  const ranksCount = typeof ddp.ranksCount === 'number' ? ddp.ranksCount : null;
  return { value: { mode, show, ranksCount }, problems };
}

/** Reads a notebook's metadata (the whole of it: `{ ddp: … }`). */
export function readNotebookDdp(metadata: unknown): Checked<NotebookDdp> {
  const problems: Problems<NotebookDdp> = {};
  const ddp = ddpOf(metadata, 'notebook', problems);
  if (ddp.auto !== undefined && ddp.auto !== null && typeof ddp.auto !== 'boolean') {
    problems.auto = `notebook metadata ddp.auto must be true or false, not ${JSON.stringify(ddp.auto)}`;
  }
  return {
    value: { auto: ddp.auto === true, show: readShow(ddp, 'notebook', problems) },
    problems
  };
}

/**
 * The notebook's `ddp` metadata after `%autodip on|off`: `auto` set or removed, and `show` set to
 * the given view (null: removed, the default then applies); undefined when nothing is left.
 */
export function withAutodip(
  notebookDdp: unknown,
  on: boolean,
  show: RankView | null
): Record<string, unknown> | undefined {
  const { auto: _auto, show: _show, ...rest } = isRecord(notebookDdp) ? notebookDdp : {};
  const next = {
    ...rest,
    ...(on ? { auto: true } : {}),
    ...(on && show !== null ? { show } : {})
  };
  return Object.keys(next).length > 0 ? next : undefined;
}

/**
 * Where a code cell runs, from its metadata and the notebook's: shared by the JupyterLab UI and
 * the headless runner so both decide alike. Lenient: a value cell-metadata.ts finds wrong reads
 * as absent here (planning a run reports it instead).
 */
import { CellDdp, NotebookDdp, readCellDdp, readNotebookDdp } from './cell-metadata';

export type CellMode = 'local' | 'ddp' | 'everywhere';

/** Cell metadata `ddp.mode`, when it names a valid mode. */
export function explicitMode(cellMetadata: unknown): CellMode | null {
  return readCellDdp(cellMetadata).value.mode;
}

/** Notebook metadata `ddp.auto`: unmarked cells run on the ranks. */
export function isAutoDdp(notebookMetadata: unknown): boolean {
  return readNotebookDdp(notebookMetadata).value.auto;
}

/** An explicit mark wins; otherwise auto-DDP decides between ddp and local. */
export function modeOf(cell: CellDdp, notebook: NotebookDdp): CellMode {
  return cell.mode ?? (notebook.auto ? 'ddp' : 'local');
}

/** {@link modeOf} the metadata of a cell and of its notebook. */
export function cellMode(cellMetadata: unknown, notebookMetadata: unknown): CellMode {
  return modeOf(readCellDdp(cellMetadata).value, readNotebookDdp(notebookMetadata).value);
}

/**
 * Cell metadata `ddp.ranksCount`: the cell's `execution_count` is the ranks' (rank 0's), which
 * counts apart from the notebook kernel's; it holds the same number, and one that no longer
 * matches the cell's count is stale (the cell ran elsewhere since).
 */
export function ranksCount(cellMetadata: unknown, executionCount: number | null): number | null {
  const count = readCellDdp(cellMetadata).value.ranksCount;
  return count !== null && count === executionCount ? count : null;
}

/** A cell's `ddp` metadata saying that its count is the ranks' `count` (null: it is not); undefined when nothing is left. */
export function withRanksCount(
  ddp: Record<string, unknown> | undefined,
  count: number | null
): Record<string, unknown> | undefined {
  const { ranksCount: _old, ...rest } = ddp ?? {};
  const next = count === null ? rest : { ...rest, ranksCount: count };
  return Object.keys(next).length > 0 ? next : undefined;
}

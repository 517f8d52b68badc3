/**
 * Where a code cell runs, from its metadata and the notebook's: shared by the JupyterLab UI and
 * the headless runner so both decide alike.
 */
export type CellMode = 'local' | 'ddp' | 'everywhere';

export const CELL_MODES: readonly CellMode[] = ['local', 'ddp', 'everywhere'];

/** Cell metadata `ddp.mode`, when it names a valid mode. */
export function explicitMode(cellMetadata: unknown): CellMode | null {
  const mode = (cellMetadata as { ddp?: { mode?: unknown } } | undefined)?.ddp?.mode;
  return CELL_MODES.includes(mode as CellMode) ? (mode as CellMode) : null;
}

/** Notebook metadata `ddp.auto`: unmarked cells run on the ranks. */
export function isAutoDdp(notebookMetadata: unknown): boolean {
  return (notebookMetadata as { ddp?: { auto?: unknown } } | undefined)?.ddp?.auto === true;
}

/** An explicit mark wins; otherwise auto-DDP decides between ddp and local. */
export function cellMode(cellMetadata: unknown, notebookMetadata: unknown): CellMode {
  return explicitMode(cellMetadata) ?? (isAutoDdp(notebookMetadata) ? 'ddp' : 'local');
}

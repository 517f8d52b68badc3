/**
 * How a code cell is to run, decided once for the JupyterLab executor and `jupyter-ddp run`: its
 * Ddip magics and its and the notebook's `ddp` metadata give where it runs, whose outputs it
 * shows, the directives to perform first and the code; or why it may not run at all. Pure logic:
 * loads in both the browser and Node.
 */
import type { IError } from '@jupyterlab/nbformat';

import { CellDdp, NotebookDdp, readCellDdp, readNotebookDdp } from './cell-metadata';
import { CellMode, modeOf } from './cell-mode';
import { notebookDdpAfter } from './directives';
import { DipOptions, Directive, isMagicError, MagicError, parseCell } from './magics';
import type { RankView } from './outputs';

/** A cell that may run. */
export interface CellPlan {
  /** Its `%%dip` line's, else its mark's, else the notebook's Auto-DDP (its own `%autodip` counted). */
  mode: CellMode;
  /** `%%dip -q`/`--see`, else the cell's `ddp.show`, else the notebook's, else the default. */
  view: RankView;
  /** The `%autodip` and `%makedip` lines, to perform (performDirectives) before the code. */
  directives: Directive[];
  /** The code to run (parseCell's). */
  code: string;
  /** The code calls the notebook kernel's client (`%dipush`/`%dipull`): it needs the ranks. */
  usesClient: boolean;
}

/**
 * Plan a cell from its source and metadata and the notebook's metadata as they are before it
 * runs; `defaultView` is whose outputs a DDP cell shows when nothing says. A MagicError (bad
 * magics, or a bad `ddp` value the cell's plan reads in its or the notebook's metadata) means
 * nothing of the cell may run, its directives included.
 */
export function planCell(
  source: string,
  cellMetadata: unknown,
  notebookMetadata: unknown,
  defaultView: RankView
): CellPlan | MagicError {
  const parsed = parseCell(source);
  if (isMagicError(parsed)) {
    return parsed;
  }
  // The cell's own %autodip lines count for the cell itself (and may fix what the notebook says).
  let notebookDdp = (notebookMetadata as { ddp?: unknown } | null | undefined)?.ddp;
  for (const directive of parsed.directives) {
    if (directive.kind === 'autodip') {
      notebookDdp = notebookDdpAfter(notebookDdp, directive);
    }
  }
  const cell = readCellDdp(cellMetadata);
  const notebook = readNotebookDdp({ ddp: notebookDdp });
  const mode = parsed.dip?.mode ?? modeOf(cell.value, notebook.value);
  // Only what decides this cell is checked: a stale value it does not read never stops it.
  const readsAuto = !parsed.dip && cell.value.mode === null;
  const readsShow = mode !== 'local' && !parsed.dip?.quiet && !parsed.dip?.see;
  const problems = new Set([
    cell.problems.ddp,
    cell.problems.mode,
    readsShow ? cell.problems.show : undefined,
    readsAuto ? notebook.problems.auto : undefined,
    readsShow && cell.value.show === null ? notebook.problems.show : undefined,
    readsAuto || (readsShow && cell.value.show === null) ? notebook.problems.ddp : undefined
  ]);
  problems.delete(undefined);
  if (problems.size > 0) {
    return { error: [...problems].join('; ') };
  }
  return {
    mode,
    view: viewOf(parsed.dip, cell.value, notebook.value, defaultView),
    directives: parsed.directives,
    code: parsed.code,
    usesClient: parsed.usesClient
  };
}

function viewOf(
  dip: DipOptions | null,
  cell: CellDdp,
  notebook: NotebookDdp,
  defaultView: RankView
): RankView {
  if (dip?.quiet) {
    return [];
  }
  return dip?.see ?? cell.show ?? notebook.show ?? defaultView;
}

/**
 * Whose outputs an execution of this cell shows when it was not planned here (found again after
 * a page reload): as planCell says without magics; a wrong value is passed over, not refused.
 */
export function rankViewOf(
  cellMetadata: unknown,
  notebookMetadata: unknown,
  defaultView: RankView
): RankView {
  const cell = readCellDdp(cellMetadata).value;
  return viewOf(null, cell, readNotebookDdp(notebookMetadata).value, defaultView);
}

/** The output of a cell that may not run: what is wrong, as IPython shows a UsageError. */
export function usageErrorOutput(message: string): IError {
  return {
    output_type: 'error',
    ename: 'UsageError',
    evalue: message,
    traceback: [`\u001b[0;31mUsageError\u001b[0m: ${message}`]
  };
}

import { Cell, CodeCell, ICellModel, ICodeCellModel } from '@jupyterlab/cells';
import { NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { ranksCount, withRanksCount } from '../protocol/cell-mode';

/**
 * A DDP cell's execution count is rank 0's, which counts apart from the notebook kernel's: its
 * prompt reads `[r2]:` so that it never looks like the local cell `[2]:` above it. nbformat's
 * `execution_count` stays the plain integer; cell metadata `ddp.ranksCount` repeats it to say
 * whose it is, so a reopened notebook shows `[r2]:` again. A count that no longer matches (the
 * cell ran elsewhere since) is the notebook kernel's.
 */
type DdpMetadata = Record<string, unknown>;

/** The count the ranks left in the cell, or null. */
export function ranksCountOf(model: ICellModel): number | null {
  return ranksCount({ ddp: model.getMetadata('ddp') }, (model as ICodeCellModel).executionCount);
}

/** Record that the cell's execution count (null: none) is the ranks'. */
export function setRanksCount(model: ICellModel, count: number | null): void {
  const before = model.getMetadata('ddp') as DdpMetadata | undefined;
  const after = withRanksCount(before, count);
  if (after === undefined) {
    if (before !== undefined) {
      model.deleteMetadata('ddp');
    }
  } else if (JSON.stringify(after) !== JSON.stringify(before)) {
    model.setMetadata('ddp', after);
  }
}

/** The cell's count is no longer the ranks' (it runs again, maybe elsewhere). */
export function forgetRanksCount(model: ICellModel): void {
  setRanksCount(model, null);
}

/** Show `[rN]:` on every code cell of the notebook whose count is the ranks', now and later. */
export function showRanksPrompts(panel: NotebookPanel, trans: TranslationBundle): void {
  const watched = new WeakSet<Cell>();
  const watch = () => {
    for (const cell of panel.content.widgets) {
      if (cell instanceof CodeCell && !watched.has(cell)) {
        watched.add(cell);
        // Connected after the cell's own handler, so this runs after it has set the prompt.
        const apply = () => applyPrompt(cell, trans);
        cell.model.stateChanged.connect(apply, cell);
        cell.model.metadataChanged.connect(apply, cell);
        void cell.ready.then(apply);
      }
    }
  };
  panel.content.model?.cells.changed.connect(() => requestAnimationFrame(watch));
  watch();
}

function applyPrompt(cell: CodeCell, trans: TranslationBundle): void {
  const input = cell.isDisposed ? null : cell.inputArea;
  if (!input) {
    return;
  }
  const count = cell.model.executionState === 'running' ? null : ranksCountOf(cell.model);
  input.promptNode.classList.toggle('jp-ddp-mod-ranksCount', count !== null);
  if (count === null) {
    input.promptNode.removeAttribute('title');
    return;
  }
  input.setPrompt(`r${count}`);
  input.promptNode.title = trans.__(
    'Execution %1 of the DDP ranks (rank 0’s count: the ranks count apart from the notebook kernel)',
    count
  );
}

import { ICellModel } from '@jupyterlab/cells';
import { INotebookModel } from '@jupyterlab/notebook';

import { isRecord, readCellDdp } from '../protocol/cell-metadata';
import { CellMode, cellMode, explicitMode, isAutoDdp } from '../protocol/cell-mode';

/** The `ddp` object of a cell's or notebook's metadata, to change some keys of (not one: none). */
function ddpOf(model: ICellModel | INotebookModel): Record<string, unknown> {
  const ddp = model.getMetadata('ddp');
  return isRecord(ddp) ? ddp : {};
}

function setCellDdp(cell: ICellModel, value: Record<string, unknown>): void {
  if (Object.keys(value).length === 0) {
    cell.deleteMetadata('ddp');
  } else {
    cell.setMetadata('ddp', value);
  }
}

export function markOf(cell: ICellModel): CellMode | null {
  return explicitMode({ ddp: cell.getMetadata('ddp') });
}

/** Set (or, with null, remove) the cell's mark, keeping its other DDP metadata. */
export function setMark(cell: ICellModel, mode: CellMode | null): void {
  const { mode: _old, ...rest } = ddpOf(cell);
  setCellDdp(cell, mode ? { ...rest, mode } : rest);
}

export function showsAllRanks(cell: ICellModel): boolean {
  return readCellDdp({ ddp: cell.getMetadata('ddp') }).value.show === 'all';
}

export function setShowAllRanks(cell: ICellModel, all: boolean): void {
  const { show: _old, ...rest } = ddpOf(cell);
  setCellDdp(cell, all ? { ...rest, show: 'all' } : rest);
}

export function isAuto(notebook: INotebookModel): boolean {
  return isAutoDdp({ ddp: notebook.getMetadata('ddp') });
}

export function setAuto(notebook: INotebookModel, on: boolean): void {
  const { auto: _old, ...rest } = ddpOf(notebook);
  if (on) {
    notebook.setMetadata('ddp', { ...rest, auto: true });
  } else if (Object.keys(rest).length > 0) {
    notebook.setMetadata('ddp', rest);
  } else {
    notebook.deleteMetadata('ddp');
  }
}

export function effectiveMode(cell: ICellModel, notebook: INotebookModel): CellMode {
  return cellMode({ ddp: cell.getMetadata('ddp') }, { ddp: notebook.getMetadata('ddp') });
}

import { ICellModel } from '@jupyterlab/cells';
import { INotebookModel } from '@jupyterlab/notebook';

import { CellMode, cellMode, explicitMode, isAutoDdp } from '../protocol/cell-mode';

/** Cell metadata `ddp`: `mode`, and `show` (whose outputs the cell shows). */
interface CellDdpMetadata {
  mode?: CellMode;
  show?: 'rank0' | 'all' | number[];
}

function cellDdp(cell: ICellModel): CellDdpMetadata {
  return (cell.getMetadata('ddp') as CellDdpMetadata | undefined) ?? {};
}

function setCellDdp(cell: ICellModel, value: CellDdpMetadata): void {
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
  const { mode: _old, ...rest } = cellDdp(cell);
  setCellDdp(cell, mode ? { ...rest, mode } : rest);
}

export function showsAllRanks(cell: ICellModel): boolean {
  return cellDdp(cell).show === 'all';
}

export function setShowAllRanks(cell: ICellModel, all: boolean): void {
  const { show: _old, ...rest } = cellDdp(cell);
  setCellDdp(cell, all ? { ...rest, show: 'all' } : rest);
}

export function isAuto(notebook: INotebookModel): boolean {
  return isAutoDdp({ ddp: notebook.getMetadata('ddp') });
}

export function setAuto(notebook: INotebookModel, on: boolean): void {
  const current = (notebook.getMetadata('ddp') as Record<string, unknown> | undefined) ?? {};
  const { auto: _old, ...rest } = current;
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

import { ISignal, Signal } from '@lumino/signaling';

import { ExecutionSource, IDdpExecutions } from './tokens';

/** Cells remembered at most; the ones whose last run is oldest are forgotten first. */
const MAX_CELLS = 1000;

/** The in-memory `IDdpExecutions` of a tab. */
export class DdpExecutions implements IDdpExecutions {
  private readonly _byCell = new Map<string, string>();
  private readonly _sources = new Map<string, ExecutionSource>();
  private readonly _changed = new Signal<IDdpExecutions, ExecutionSource & { executionId: string }>(
    this
  );

  constructor(private readonly _maxCells = MAX_CELLS) {}

  get changed(): ISignal<IDdpExecutions, ExecutionSource & { executionId: string }> {
    return this._changed;
  }

  get(cellId: string): string | undefined {
    return this._byCell.get(cellId);
  }

  sourceOf(executionId: string): ExecutionSource | undefined {
    return this._sources.get(executionId);
  }

  set(cellId: string, executionId: string, path?: string): void {
    const previous = this._byCell.get(cellId);
    if (previous !== undefined) {
      this._sources.delete(previous);
      this._byCell.delete(cellId);
    }
    this._byCell.set(cellId, executionId);
    const source: ExecutionSource = path === undefined ? { cellId } : { cellId, path };
    this._sources.set(executionId, source);
    while (this._byCell.size > this._maxCells) {
      const [oldest, execution] = this._byCell.entries().next().value as [string, string];
      this._byCell.delete(oldest);
      this._sources.delete(execution);
    }
    this._changed.emit({ ...source, executionId });
  }
}

import { ISignal, Signal } from '@lumino/signaling';

import { ExecutionSource, IDdpExecutions } from './tokens';

/** Cells remembered at most; the ones whose last run is oldest are forgotten first. */
const MAX_CELLS = 1000;

/** The in-memory `IDdpExecutions` of a tab. */
export class DdpExecutions implements IDdpExecutions {
  private readonly byCell = new Map<string, string>();
  private readonly sources = new Map<string, ExecutionSource>();
  private readonly _changed = new Signal<IDdpExecutions, ExecutionSource & { executionId: string }>(
    this
  );

  constructor(private readonly maxCells = MAX_CELLS) {}

  get changed(): ISignal<IDdpExecutions, ExecutionSource & { executionId: string }> {
    return this._changed;
  }

  get(cellId: string): string | undefined {
    return this.byCell.get(cellId);
  }

  sourceOf(executionId: string): ExecutionSource | undefined {
    return this.sources.get(executionId);
  }

  set(cellId: string, executionId: string, path?: string): void {
    const previous = this.byCell.get(cellId);
    if (previous !== undefined) {
      this.sources.delete(previous);
      this.byCell.delete(cellId);
    }
    this.byCell.set(cellId, executionId);
    const source: ExecutionSource = path === undefined ? { cellId } : { cellId, path };
    this.sources.set(executionId, source);
    while (this.byCell.size > this.maxCells) {
      const [oldest, execution] = this.byCell.entries().next().value as [string, string];
      this.byCell.delete(oldest);
      this.sources.delete(execution);
    }
    this._changed.emit({ ...source, executionId });
  }
}

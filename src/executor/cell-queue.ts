/** One cell's turn in its notebook's queue. */
export interface QueuedRun {
  /** Looked at when its turn comes: a disposed cell (deleted, its notebook closed) is skipped. */
  readonly cell: { readonly isDisposed: boolean };
  /** Run the cell; false if it failed. */
  run(): Promise<boolean>;
  /** Called instead of `run` when the cell is skipped. */
  skipped(): void;
}

/**
 * Runs each notebook's cells one at a time, in the order they were queued, as a kernel runs what it
 * is sent: JupyterLab hands over all the cells of a "Run All" at once, and with two places to run
 * (the notebook kernel, the ranks) no single kernel's queue keeps their order. Like a kernel that
 * stops on error, a failed cell skips the cells queued before it failed; cells queued after run.
 */
export class CellQueue<Notebook extends object> {
  /** The notebook's last queued turn, settled however it ended. */
  private readonly _tails = new WeakMap<Notebook, Promise<unknown>>();
  /** Bumped when a cell of the notebook fails; cells queued before that are skipped. */
  private readonly _failures = new WeakMap<Notebook, number>();

  /**
   * Queue a cell behind the notebook's earlier ones. Resolves to what `run` returned, or false once
   * the cell was skipped. A `run` that throws counts as a failure, and its promise rejects.
   */
  add(notebook: Notebook, queued: QueuedRun): Promise<boolean> {
    const epoch = this._failures.get(notebook) ?? 0;
    const previous = this._tails.get(notebook) ?? Promise.resolve();
    const turn = previous.then(async () => {
      if ((this._failures.get(notebook) ?? 0) !== epoch || queued.cell.isDisposed) {
        queued.skipped();
        return false;
      }
      let ok = false;
      try {
        ok = await queued.run();
      } finally {
        if (!ok) {
          this._failures.set(notebook, epoch + 1);
        }
      }
      return ok;
    });
    const settled = turn.catch(() => undefined);
    this._tails.set(notebook, settled);
    return turn;
  }
}

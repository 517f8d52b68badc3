/**
 * One execution's outputs and summary as the tab knows them, whoever shows them (its cell, the rank
 * panel). Fed by `ExecutionFeeds` from the socket; fetches the execution's record only when the
 * sequence shows a gap. Pure logic (no JupyterLab code): loads in Node, unit-tested without a
 * browser.
 */
import { ISignal, Signal } from '@lumino/signaling';

import type { ExecutionRecord, ExecutionSummary, OutputEvent } from '../protocol/api';
import { ExecutionOutputs } from './execution-outputs';
import { BufferLimits, OUTPUT_LIMITS } from './rank-buffer';

/** Views render an execution's outputs at most this often, whatever the rate of output. */
export const RENDER_INTERVAL_MS = 100;

/**
 * What the server keeps of an execution from seq `since` on (`GET .../executions/:id?since=`);
 * null when the server does not know the execution (any more).
 */
export type FetchRecord = (id: string, since: number) => Promise<ExecutionRecord | null>;

/**
 * An execution's outputs, in order, in bounded per-rank buffers (`outputs`), and its newest summary.
 * What the socket delivers is applied as it comes; the record is fetched only when something is
 * missing: outputs below a summary's `nextSeq` or ahead of a hole, a reconnect before the
 * execution was complete, or a summary that did not come over the socket (whose outputs may have
 * gone by before anyone listened). What the server no longer had is counted in `outputs.missed`.
 */
export class ExecutionFeed {
  readonly outputs: ExecutionOutputs;
  /**
   * Its final summary, once it ended and every output is applied (or will never come); the last
   * summary known when the server forgot it (see `lost`). Never settles for an execution of which
   * nothing was ever known.
   */
  readonly ended: Promise<ExecutionSummary>;

  constructor(
    readonly id: string,
    private readonly _fetchRecord: FetchRecord,
    limits: BufferLimits = OUTPUT_LIMITS
  ) {
    this.outputs = new ExecutionOutputs(limits);
    this.ended = new Promise(resolve => (this._resolveEnded = resolve));
  }

  /** The newest summary, if any came yet. */
  get summary(): ExecutionSummary | null {
    return this._summary;
  }

  /**
   * The server does not know the execution (it restarted, or forgot it), or nothing could be
   * learnt of it: views say so rather than wait.
   */
  get lost(): boolean {
    return this._gone || (this._summary === null && this._failed);
  }

  /** It ended, and every output it had is applied (or will never come). */
  get isComplete(): boolean {
    const summary = this._summary;
    return (
      summary !== null &&
      summary.status !== 'running' &&
      !this.outputs.missesBefore(summary.nextSeq)
    );
  }

  /** Outputs were applied: at most every RENDER_INTERVAL_MS, and at once when it ended. */
  get outputsChanged(): ISignal<this, void> {
    return this._outputsChanged;
  }

  /** What is known of it changed: a newer summary (a rank ended, it ended), or it was lost. */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** An output event of this execution from the socket. */
  addOutput(event: OutputEvent): void {
    this.outputs.add(event);
    if (this.outputs.pending > 0) {
      this.catchUp(); // a hole: on one ordered socket, only what went by unheard leaves one
    }
    this._scheduleChanged();
  }

  /**
   * A summary of this execution. `live`: it came over the socket, after every output it counts,
   * so that an output below its `nextSeq` not applied yet is missing.
   */
  setSummary(summary: ExecutionSummary, live: boolean): void {
    this._adopt(summary);
    if (live && this.outputs.missesBefore(summary.nextSeq)) {
      this.catchUp();
    }
    this._checkEnd();
  }

  /** The socket came back after a drop: what it would have delivered meanwhile is missing. */
  reconnected(): void {
    if (!this.isComplete) {
      this.catchUp(true);
    }
  }

  /**
   * Fetch what is missing, from the first output not applied yet. One fetch at a time; one asked
   * for while a fetch runs after a drop (`again`) follows it, as the running one may predate it.
   */
  catchUp(again = false): void {
    if (this._gone || this._isDisposed) {
      return;
    }
    if (this._fetching) {
      this._again ||= again;
      return;
    }
    this._fetching = true;
    this._fetchRecord(this.id, this.outputs.firstMissing).then(
      record => this._onRecord(record),
      () => this._onFetchFailed()
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearTimeout(this._timer);
    Signal.clearData(this);
  }

  private _onRecord(record: ExecutionRecord | null): void {
    this._fetching = false;
    if (this._isDisposed) {
      return;
    }
    const again = this._again;
    this._again = false;
    if (record === null) {
      this._gone = true;
      this.outputs.giveUpGap();
      this._stateChanged.emit();
    } else {
      this._failed = false;
      // Outputs below `dropped` are no longer kept by the server.
      this.outputs.skipTo(record.dropped);
      for (const event of record.outputs) {
        this.outputs.add(event);
      }
      if (again) {
        this.catchUp();
      } else {
        // The record holds every output up to its summary: a hole left will not be filled.
        this.outputs.giveUpGap();
      }
      this._adopt(record.execution);
    }
    this._scheduleChanged();
    this._checkEnd();
  }

  private _onFetchFailed(): void {
    this._fetching = false;
    if (this._isDisposed) {
      return;
    }
    this._failed = true;
    const summary = this._summary;
    if (this._again) {
      this._again = false;
      this.catchUp();
    } else if (summary && summary.status !== 'running') {
      // It ended: go on with what came, rather than leave its cell running.
      this.outputs.skipTo(summary.nextSeq);
      this._scheduleChanged();
    }
    this._stateChanged.emit();
    this._checkEnd();
  }

  /** Take a summary unless it is older than the one known (a record fetched before the end). */
  private _adopt(summary: ExecutionSummary): void {
    const known = this._summary;
    if (
      known &&
      ((known.status !== 'running' && summary.status === 'running') ||
        summary.nextSeq < known.nextSeq)
    ) {
      return;
    }
    this._summary = summary;
    this._stateChanged.emit();
  }

  private _checkEnd(): void {
    const summary = this._summary;
    if (this._ended || !summary || !(this._gone || this.isComplete)) {
      return;
    }
    this._ended = true;
    clearTimeout(this._timer);
    this._timer = undefined;
    this._outputsChanged.emit();
    this._resolveEnded(summary);
  }

  private _scheduleChanged(): void {
    this._timer ??= setTimeout(() => {
      this._timer = undefined;
      this._outputsChanged.emit();
    }, RENDER_INTERVAL_MS);
  }

  private _summary: ExecutionSummary | null = null;
  private _gone = false;
  private _failed = false;
  private _fetching = false;
  private _again = false;
  private _ended = false;
  private _isDisposed = false;
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _resolveEnded!: (summary: ExecutionSummary) => void;
  private readonly _outputsChanged = new Signal<this, void>(this);
  private readonly _stateChanged = new Signal<this, void>(this);
}

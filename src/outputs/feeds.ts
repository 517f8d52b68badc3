/**
 * The tab's execution feeds: one per execution that some view shows, shared by its cell and the
 * rank panel, fed from the tab's one socket. Pure logic (no JupyterLab code): loads in Node.
 */
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';

import type { ExecutionSummary, OutputEvent } from '../protocol/api';
import { ExecutionFeed, FetchRecord } from './feed';
import { BufferLimits, OUTPUT_LIMITS } from './rank-buffer';

/** What the feeds listen to: the tab's socket, and the server's record of an execution. */
export interface FeedSource {
  readonly output: ISignal<unknown, OutputEvent>;
  readonly execution: ISignal<unknown, ExecutionSummary>;
  /** The socket is back after a drop. */
  readonly reconnected: ISignal<unknown, void>;
  readonly record: FetchRecord;
}

/** A view's hold on an execution's feed: the feed lives while some view holds it. */
export interface FeedHold extends IDisposable {
  readonly feed: ExecutionFeed;
}

/** The feeds of the executions that views show. */
export interface IExecutionFeeds {
  /**
   * Hold the feed of an execution, made if no view holds it yet. `summary`: what the view knows
   * of it; `live`: the summary came over the socket just now, after every output it counts (the
   * reply to an execute, or its announcement), so that nothing need be fetched for it. A feed made
   * without a live summary fetches the execution's record, as outputs may have gone by unheard.
   */
  open(id: string, summary?: ExecutionSummary, live?: boolean): FeedHold;
}

export class ExecutionFeeds implements IExecutionFeeds {
  private readonly _feeds = new Map<string, { feed: ExecutionFeed; holds: number }>();

  constructor(
    private readonly _source: FeedSource,
    private readonly _limits: BufferLimits = OUTPUT_LIMITS
  ) {}

  open(id: string, summary?: ExecutionSummary, live = false): FeedHold {
    let entry = this._feeds.get(id);
    if (entry) {
      if (summary) {
        entry.feed.setSummary(summary, false); // the feed has all the socket said of it
      }
    } else {
      if (this._feeds.size === 0) {
        this._listen(true);
      }
      const feed = new ExecutionFeed(id, this._source.record, this._limits);
      entry = { feed, holds: 0 };
      this._feeds.set(id, entry);
      if (summary) {
        feed.setSummary(summary, live);
      }
      if (!(summary && live) && !feed.isComplete) {
        feed.catchUp();
      }
    }
    entry.holds++;
    const held = entry;
    let released = false;
    return {
      feed: held.feed,
      get isDisposed() {
        return released;
      },
      dispose: () => {
        if (released) {
          return;
        }
        released = true;
        if (--held.holds === 0) {
          this._feeds.delete(id);
          held.feed.dispose();
          if (this._feeds.size === 0) {
            this._listen(false);
          }
        }
      }
    };
  }

  /** The feed of an execution while some view holds it. */
  get(id: string): ExecutionFeed | undefined {
    return this._feeds.get(id)?.feed;
  }

  /** Listen to the socket only while some feed is held. */
  private _listen(on: boolean): void {
    const { output, execution, reconnected } = this._source;
    if (on) {
      output.connect(this._onOutput, this);
      execution.connect(this._onExecution, this);
      reconnected.connect(this._onReconnected, this);
    } else {
      output.disconnect(this._onOutput, this);
      execution.disconnect(this._onExecution, this);
      reconnected.disconnect(this._onReconnected, this);
    }
  }

  private _onOutput(_: unknown, event: OutputEvent): void {
    this._feeds.get(event.execution)?.feed.addOutput(event);
  }

  private _onExecution(_: unknown, summary: ExecutionSummary): void {
    this._feeds.get(summary.id)?.feed.setSummary(summary, true);
  }

  private _onReconnected(): void {
    for (const { feed } of this._feeds.values()) {
      feed.reconnected();
    }
  }
}

import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

import { IDdpClient } from '../client/tokens';
import { ddpIcon } from '../icons';
import { ExecutionFeed } from '../outputs/feed';
import { FeedHold } from '../outputs/feeds';
import { IDdpFeeds } from '../outputs/tokens';
import { ExecutionStatus, ExecutionSummary } from '../protocol/api';
import { setText } from './dom';
import { PanelAction, RankPanelHeader, TabStatus } from './header';
import { RankPane } from './rank-pane';

/** What the panel keeps across reloads (through the layout restorer). */
export interface RankPanelState {
  execution: string | null;
  sideBySide: boolean;
  hiddenRanks: number[];
  follow: boolean;
  /** The rank whose tab was chosen. */
  selectedRank: number | null;
}

/**
 * Every rank's live output of one DDP execution: one pane per rank, tabbed or side by side, with a
 * rank filter. It follows the running execution (unless told not to); `showExecution` switches
 * to another. It reads the execution's feed, shared with its cell, and renders when the feed says
 * (at most every RENDER_INTERVAL_MS), only in panes that are visible.
 */
export class RankOutputsPanel extends Widget {
  constructor(options: RankOutputsPanelOptions) {
    super();
    this.id = 'jp-ddp-rank-outputs';
    this.addClass('jp-ddp-RankPanel');
    this.node.tabIndex = -1;
    this._feeds = options.feeds;
    this._rendermime = options.rendermime;
    this._translator = options.translator;
    this._trans = options.trans;
    this._describe = options.describe;
    const trans = this._trans;
    this.title.label = trans.__('DDP Rank Outputs');
    this.title.caption = trans.__('Every rank’s output of the running or selected DDP cell');
    this.title.icon = ddpIcon;
    this.title.closable = true;

    this._header = new RankPanelHeader(trans, options.actions ?? [], {
      sideBySideChanged: sideBySide => {
        this._sideBySide = sideBySide;
        this._updateLayout();
        this._stateChanged.emit();
      },
      followChanged: follow => {
        this._follow = follow;
        this._stateChanged.emit();
      },
      rankShown: (rank, shown) => {
        if (shown) {
          this._hidden.delete(rank);
        } else {
          this._hidden.add(rank);
        }
        this._updateLayout();
        this._stateChanged.emit();
      },
      tabSelected: rank => this._select(rank)
    });
    this._header.setChoices(this._sideBySide, this._follow);
    this._body.addClass('jp-ddp-RankPanel-body');
    this._empty.addClass('jp-ddp-RankPanel-empty');
    this._body.addWidget(this._empty);
    const layout = new PanelLayout();
    this.layout = layout;
    layout.addWidget(this._header);
    layout.addWidget(this._body);

    options.client.connection.execution.connect(this._onExecution, this);
    this._updateLayout();
  }

  /** The execution shown, if any. */
  get executionId(): string | null {
    return this._hold?.feed.id ?? null;
  }

  /** The state to restore after a reload. */
  get state(): RankPanelState {
    return {
      execution: this.executionId,
      sideBySide: this._sideBySide,
      hiddenRanks: [...this._hidden].sort((a, b) => a - b),
      follow: this._follow,
      selectedRank: this._selected
    };
  }

  /** The state changed (execution shown, layout, filter). */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /** Apply a saved layout, filter and follow choice (not the execution: see showExecution). */
  restoreState(state: Partial<RankPanelState>): void {
    if (typeof state.sideBySide === 'boolean') {
      this._sideBySide = state.sideBySide;
    }
    if (Array.isArray(state.hiddenRanks)) {
      this._hidden = new Set(state.hiddenRanks.filter(r => Number.isInteger(r)));
    }
    if (typeof state.follow === 'boolean') {
      this._follow = state.follow;
    }
    if (typeof state.selectedRank === 'number') {
      this._selected = state.selectedRank;
    }
    this._header.setChoices(this._sideBySide, this._follow);
    this._updateLayout();
  }

  /**
   * Show the ranks' outputs of an execution: its feed, shared with its cell while that runs.
   * `summary`: what is known of it; `live`: it came over the socket just now (see
   * `IExecutionFeeds.open`).
   */
  showExecution(id: string, summary?: ExecutionSummary, live = false): void {
    if (id === this.executionId) {
      return; // its feed has every summary of it
    }
    this._release();
    const hold = this._feeds.open(id, summary, live);
    this._hold = hold;
    hold.feed.outputsChanged.connect(this._onOutputs, this);
    hold.feed.stateChanged.connect(this._onFeedState, this);
    this._addPanes(hold.feed);
    this._updateLayout();
    this._stateChanged.emit();
  }

  /** Re-read the source of the execution shown (e.g. its cell moved or got known). */
  refreshHeader(): void {
    this._updateHeader();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._release();
    Signal.disconnectReceiver(this);
    super.dispose();
    Signal.clearData(this);
  }

  protected onActivateRequest(): void {
    this._header.focusTarget.focus();
  }

  protected onAfterShow(): void {
    this._render();
  }

  /** A new execution runs: follow it, unless told not to. */
  private _onExecution(_: unknown, summary: ExecutionSummary): void {
    if (summary.id !== this.executionId && summary.status === 'running' && this._follow) {
      this.showExecution(summary.id, summary, true);
    }
  }

  private _onOutputs(feed: ExecutionFeed): void {
    if (this._addPanes(feed)) {
      this._updateLayout();
    } else {
      this._render();
    }
  }

  private _onFeedState(feed: ExecutionFeed): void {
    if (this._addPanes(feed)) {
      this._updateLayout();
    } else {
      this._updateHeader();
    }
  }

  /** Stop showing the execution shown, if any. */
  private _release(): void {
    for (const pane of this._panes.values()) {
      pane.dispose();
    }
    this._panes.clear();
    const hold = this._hold;
    if (hold) {
      // The feed lives on while its cell runs.
      hold.feed.outputsChanged.disconnect(this._onOutputs, this);
      hold.feed.stateChanged.disconnect(this._onFeedState, this);
      hold.dispose();
      this._hold = null;
    }
  }

  /** A pane for every rank that ran or has output; whether one was added. */
  private _addPanes(feed: ExecutionFeed): boolean {
    const ranks = new Set([...(feed.summary?.ranks ?? []), ...feed.outputs.ranks]);
    let added = false;
    for (const rank of ranks) {
      if (!this._panes.has(rank)) {
        const pane = new RankPane(
          rank,
          feed.outputs.rank(rank),
          this._rendermime,
          this._translator,
          this._trans
        );
        this._panes.set(rank, pane);
        // Keep the panes in rank order.
        this._body.insertWidget(this._ranks().indexOf(rank), pane);
        added = true;
      }
    }
    return added;
  }

  /** Bring the header and every visible pane up to date (hidden panes wait until shown). */
  private _render(): void {
    if (this.isDisposed) {
      return;
    }
    this._updateHeader();
    if (!this.isVisible) {
      return;
    }
    for (const pane of this._panes.values()) {
      if (pane.isVisible) {
        pane.sync();
      }
    }
  }

  private _statusLabel(status: ExecutionStatus): string {
    switch (status) {
      case 'running':
        return this._trans.__('running');
      case 'ok':
        return this._trans.__('ok');
      case 'error':
        return this._trans.__('error');
      case 'aborted':
        return this._trans.__('aborted');
    }
  }

  private _updateHeader(): void {
    const trans = this._trans;
    const feed = this._hold?.feed;
    if (!feed) {
      this._header.setSource(trans.__('No DDP execution yet: run a DDP cell.'), '', '', 'none');
      this._updateTabs();
      return;
    }
    const source = this._describe(feed.id) ?? trans.__('Execution %1', feed.id.slice(0, 8));
    const summary = feed.summary;
    let status: string;
    let state: string;
    if (summary && !(feed.lost && summary.status === 'running')) {
      state = summary.status;
      status = this._statusLabel(summary.status);
      if (summary.failure) {
        status = trans.__('%1: %2', status, summary.failure);
      }
    } else if (feed.lost) {
      state = 'unknown';
      status = trans.__('no longer known to the server');
    } else {
      state = 'loading';
      status = trans.__('loading…');
    }
    const missed = feed.outputs.missed;
    if (missed > 0) {
      status = trans._n(
        '%2 (%1 earlier output was dropped: the server no longer had it)',
        '%2 (%1 earlier outputs were dropped: the server no longer had them)',
        missed,
        status
      );
    }
    this._header.setSource(source, feed.id, status, state);
    this._updateTabs();
  }

  /** Show the selected tab's pane, or every pane side by side; hide filtered-out ranks. */
  private _updateLayout(): void {
    const visible = this._visibleRanks();
    const current = this._currentTab();
    for (const [rank, pane] of this._panes) {
      pane.showTitle(this._sideBySide);
      pane.setHidden(this._hidden.has(rank) || (!this._sideBySide && rank !== current));
    }
    this._body.toggleClass('jp-ddp-mod-sideBySide', this._sideBySide);
    this._header.setFilter(this._ranks(), this._hidden);
    this._empty.setHidden(visible.length > 0);
    setText(
      this._empty.node,
      this._hold === null
        ? this._trans.__('Run a DDP cell, or select one that ran: its ranks’ output shows here.')
        : this._panes.size === 0
          ? this._trans.__('No output yet.')
          : this._trans.__('Every rank is filtered out: tick a rank above.')
    );
    // Panes just shown rendered as they were shown (onAfterShow); this brings the rest along.
    this._render();
  }

  private _ranks(): number[] {
    return [...this._panes.keys()].sort((a, b) => a - b);
  }

  private _visibleRanks(): number[] {
    return this._ranks().filter(r => !this._hidden.has(r));
  }

  /** The rank whose tab is selected: the one the user chose, while it is shown; else the first. */
  private _currentTab(): number | null {
    const visible = this._visibleRanks();
    return this._selected !== null && visible.includes(this._selected)
      ? this._selected
      : (visible[0] ?? null);
  }

  private _updateTabs(): void {
    const visible = this._visibleRanks();
    const summary = this._hold?.feed.summary;
    this._header.setTabs(
      visible,
      this._currentTab(),
      this._sideBySide || visible.length === 0,
      (rank): TabStatus => {
        const status = summary?.rankStatus[rank] ?? summary?.status;
        return status
          ? { state: status, label: this._statusLabel(status) }
          : { state: 'none', label: '' };
      }
    );
  }

  private _select(rank: number): void {
    if (this._selected !== rank) {
      this._selected = rank;
      this._updateLayout();
      this._stateChanged.emit();
    }
  }

  private readonly _feeds: IDdpFeeds;
  private readonly _rendermime: IRenderMimeRegistry;
  private readonly _translator: ITranslator | undefined;
  private readonly _trans: TranslationBundle;
  private readonly _describe: (executionId: string) => string | null;
  private readonly _header: RankPanelHeader;
  private readonly _body = new Panel();
  private readonly _empty = new Widget();
  private readonly _panes = new Map<number, RankPane>();
  private _hold: FeedHold | null = null;
  private _selected: number | null = null;
  private _sideBySide = false;
  private _hidden = new Set<number>();
  private _follow = true;
  private readonly _stateChanged = new Signal<this, void>(this);
}

export interface RankOutputsPanelOptions {
  client: IDdpClient;
  /** The executions' feeds, shared with their cells. */
  feeds: IDdpFeeds;
  rendermime: IRenderMimeRegistry;
  translator?: ITranslator;
  trans: TranslationBundle;
  /** Where an execution comes from ("train.ipynb, cell 3"), or null when unknown. */
  describe: (executionId: string) => string | null;
  /** Buttons in the header (push and pull). */
  actions?: PanelAction[];
}

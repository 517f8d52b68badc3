import type { IOutput } from '@jupyterlab/nbformat';
import { OutputArea, OutputAreaModel } from '@jupyterlab/outputarea';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, PanelLayout, Widget } from '@lumino/widgets';

import { IDdpClient } from '../client/tokens';
import { ddpIcon } from '../icons';
import { ExecutionStatus, ExecutionSummary, OutputEvent } from '../protocol/api';
import { StreamChunker } from './chunks';
import { BufferLimits, ExecutionOutputs, PANEL_LIMITS, RankBuffer } from './rank-buffer';

/** The panel renders at most this often, whatever the rate of output. */
export const RENDER_INTERVAL_MS = 200;

/** Scrolling this soon after the user's wheel, keys or pointer is the user's. */
const USER_SCROLL_MS = 1000;

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
 * to another. Output is kept bounded per rank, rendered at most every RENDER_INTERVAL_MS, and only
 * in panes that are visible.
 */
export class RankOutputsPanel extends Widget {
  constructor(options: RankOutputsPanelOptions) {
    super();
    this.id = 'jp-ddp-rank-outputs';
    this.addClass('jp-ddp-RankPanel');
    this.node.tabIndex = -1;
    this.client = options.client;
    this.rendermime = options.rendermime;
    this.translator = options.translator;
    this.trans = options.trans;
    this.describe = options.describe;
    this.actions = options.actions ?? [];
    this.limits = options.limits ?? PANEL_LIMITS;
    this.title.label = this.trans.__('DDP Rank Outputs');
    this.title.caption = this.trans.__('Every rank’s output of the running or selected DDP cell');
    this.title.icon = ddpIcon;
    this.title.closable = true;

    const layout = new PanelLayout();
    this.layout = layout;
    this.header = new Widget({ node: this.buildHeader() });
    this.header.addClass('jp-ddp-RankPanel-header');
    this.body = new Panel();
    this.body.addClass('jp-ddp-RankPanel-body');
    this.empty = new Widget();
    this.empty.addClass('jp-ddp-RankPanel-empty');
    this.body.addWidget(this.empty);
    layout.addWidget(this.header);
    layout.addWidget(this.body);

    const { connection } = this.client;
    connection.output.connect(this.onOutput, this);
    connection.execution.connect(this.onExecution, this);
    connection.reconnected.connect(this.catchUp, this);
    this.updateLayout();
    this.updateHeader();
  }

  /** The execution shown, if any. */
  get executionId(): string | null {
    return this._executionId;
  }

  /** The state to restore after a reload. */
  get state(): RankPanelState {
    return {
      execution: this._executionId,
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
    this.sideBySideInput.checked = this._sideBySide;
    this.followInput.checked = this._follow;
    this.updateFilter();
    this.updateLayout();
  }

  /** Show the ranks' outputs of an execution (the newest summary of it, when known). */
  showExecution(id: string, summary?: ExecutionSummary): void {
    if (id === this._executionId) {
      if (summary) {
        this.setSummary(summary);
      }
      return;
    }
    for (const pane of this.panes.values()) {
      pane.dispose();
    }
    this.panes.clear();
    this._executionId = id;
    this._summary = summary ?? null;
    this._unknown = false;
    this._serverDropped = 0;
    this._outputs = new ExecutionOutputs(this.limits);
    summary?.ranks.forEach(rank => this.ensurePane(rank));
    if (!summary || this._outputs.missesBefore(summary.nextSeq)) {
      this.catchUp();
    }
    this.updateFilter();
    this.updateLayout();
    this.updateHeader();
    this._stateChanged.emit();
  }

  /** Re-read the source of the execution shown (e.g. its cell moved or got known). */
  refreshHeader(): void {
    this.updateHeader();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    clearTimeout(this.timer);
    Signal.disconnectReceiver(this);
    super.dispose();
    Signal.clearData(this);
  }

  protected onActivateRequest(): void {
    const target = this.node.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]');
    (target && target.offsetParent !== null ? target : this.sideBySideInput).focus();
  }

  protected onAfterShow(): void {
    this.renderNow();
  }

  private readonly client: IDdpClient;
  private readonly rendermime: IRenderMimeRegistry;
  private readonly translator: ITranslator | undefined;
  private readonly trans: TranslationBundle;
  private readonly describe: (executionId: string) => string | null;
  private readonly limits: BufferLimits;
  private readonly header: Widget;
  private readonly actions: PanelAction[];
  private readonly body: Panel;
  private readonly empty: Widget;
  private readonly panes = new Map<number, RankPane>();
  private sourceNode!: HTMLElement;
  private statusNode!: HTMLElement;
  private filterNode!: HTMLElement;
  private tabsNode!: HTMLElement;
  private sideBySideInput!: HTMLInputElement;
  private followInput!: HTMLInputElement;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private _executionId: string | null = null;
  private _summary: ExecutionSummary | null = null;
  private _outputs: ExecutionOutputs | null = null;
  private _unknown = false;
  private _serverDropped = 0;
  private _selected: number | null = null;
  private _sideBySide = false;
  private _hidden = new Set<number>();
  private _follow = true;
  private _stateChanged = new Signal<this, void>(this);

  private buildHeader(): HTMLElement {
    const trans = this.trans;
    const node = document.createElement('div');

    const summary = document.createElement('div');
    summary.className = 'jp-ddp-RankPanel-summary';
    this.sourceNode = document.createElement('span');
    this.sourceNode.className = 'jp-ddp-RankPanel-source';
    this.statusNode = document.createElement('span');
    this.statusNode.className = 'jp-ddp-RankPanel-status';
    this.statusNode.setAttribute('role', 'status');
    summary.append(this.sourceNode, this.statusNode);

    const controls = document.createElement('div');
    controls.className = 'jp-ddp-RankPanel-controls';
    this.filterNode = document.createElement('div');
    this.filterNode.className = 'jp-ddp-RankPanel-filter';
    this.filterNode.setAttribute('role', 'group');
    this.filterNode.setAttribute('aria-label', trans.__('Ranks shown'));
    const checkbox = (className: string, label: string, checked: boolean) => {
      const wrapper = document.createElement('label');
      wrapper.className = className;
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.checked = checked;
      wrapper.append(input, document.createTextNode(label));
      controls.append(wrapper);
      return input;
    };
    controls.append(this.filterNode);
    this.sideBySideInput = checkbox(
      'jp-ddp-RankPanel-sideBySide',
      trans.__('All ranks side by side'),
      this._sideBySide
    );
    this.sideBySideInput.addEventListener('change', () => {
      this._sideBySide = this.sideBySideInput.checked;
      this.updateLayout();
      this._stateChanged.emit();
    });
    this.followInput = checkbox(
      'jp-ddp-RankPanel-follow',
      trans.__('Follow the running cell'),
      this._follow
    );
    this.followInput.addEventListener('change', () => {
      this._follow = this.followInput.checked;
      this._stateChanged.emit();
    });

    for (const action of this.actions) {
      const button = document.createElement('button');
      button.className = 'jp-Button jp-mod-styled jp-mod-reject jp-ddp-RankPanel-action';
      button.textContent = action.label;
      button.title = action.caption;
      button.addEventListener('click', () => action.run());
      controls.append(button);
    }

    this.tabsNode = document.createElement('div');
    this.tabsNode.className = 'jp-ddp-RankPanel-tabs';
    this.tabsNode.setAttribute('role', 'tablist');
    this.tabsNode.setAttribute('aria-label', trans.__('Ranks'));
    this.tabsNode.addEventListener('keydown', event => this.onTabKey(event));

    node.append(summary, controls, this.tabsNode);
    return node;
  }

  private onOutput(_: unknown, event: OutputEvent): void {
    if (event.execution !== this._executionId || !this._outputs) {
      return;
    }
    this._outputs.add(event);
    if (!this.panes.has(event.rank)) {
      this.ensurePane(event.rank);
      this.updateFilter();
      this.updateLayout();
    }
    this.scheduleRender();
  }

  private onExecution(_: unknown, summary: ExecutionSummary): void {
    if (summary.id === this._executionId) {
      this.setSummary(summary);
      // At its end, fetch only what the socket did not deliver (nothing, usually).
      if (summary.status !== 'running' && this._outputs?.missesBefore(summary.nextSeq)) {
        this.catchUp();
      }
    } else if (summary.status === 'running' && this._follow) {
      this.showExecution(summary.id, summary);
    }
  }

  /** Fetch what the socket did not deliver (all of it for an execution just chosen). */
  private catchUp(): void {
    const id = this._executionId;
    const outputs = this._outputs;
    if (!id || !outputs) {
      return;
    }
    const since = outputs.firstMissing;
    this.client.api.record(id, since).then(
      record => {
        if (this._outputs !== outputs) {
          return;
        }
        const first = record.outputs[0];
        if (first) {
          if (first.seq > since) {
            this._serverDropped = first.seq;
          }
          outputs.skipTo(first.seq);
        }
        record.outputs.forEach(event => outputs.add(event));
        // Anything still waiting is past a gap the server can no longer fill.
        outputs.giveUpGap();
        record.execution.ranks.forEach(rank => this.ensurePane(rank));
        outputs.ranks.forEach(rank => this.ensurePane(rank));
        this.updateFilter();
        this.updateLayout();
        this.setSummary(record.execution);
        this.scheduleRender();
      },
      () => {
        if (this._outputs !== outputs) {
          return;
        }
        outputs.giveUpGap();
        this._unknown = this._summary === null;
        this.updateHeader();
        this.scheduleRender();
      }
    );
  }

  private setSummary(summary: ExecutionSummary): void {
    if (
      this._summary?.id === summary.id &&
      this._summary.status !== 'running' &&
      summary.status === 'running'
    ) {
      return; // a reply older than the end of the execution
    }
    this._summary = summary;
    this._unknown = false;
    this.updateHeader();
    this.updateTabs();
  }

  private ensurePane(rank: number): RankPane {
    let pane = this.panes.get(rank);
    if (!pane) {
      pane = new RankPane(
        rank,
        this._outputs!.rank(rank),
        this.rendermime,
        this.translator,
        this.trans
      );
      this.panes.set(rank, pane);
      // Keep the panes in rank order.
      const index = [...this.panes.keys()].sort((a, b) => a - b).indexOf(rank);
      this.body.insertWidget(index, pane);
    }
    return pane;
  }

  private scheduleRender(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.renderNow();
    }, RENDER_INTERVAL_MS);
  }

  /** Bring the header and every visible pane up to date (hidden panes wait until shown). */
  private renderNow(): void {
    if (this.isDisposed) {
      return;
    }
    this.updateHeader();
    if (!this.isVisible) {
      return;
    }
    for (const pane of this.panes.values()) {
      if (pane.isVisible) {
        pane.sync();
      }
    }
  }

  private statusLabel(status: ExecutionStatus): string {
    switch (status) {
      case 'running':
        return this.trans.__('running');
      case 'ok':
        return this.trans.__('ok');
      case 'error':
        return this.trans.__('error');
      case 'aborted':
        return this.trans.__('aborted');
    }
  }

  private updateHeader(): void {
    const trans = this.trans;
    const id = this._executionId;
    let source: string;
    let status = '';
    let state = 'none';
    if (id === null) {
      source = trans.__('No DDP execution yet: run a DDP cell.');
    } else {
      source = this.describe(id) ?? trans.__('Execution %1', id.slice(0, 8));
      if (this._summary) {
        state = this._summary.status;
        status = this.statusLabel(this._summary.status);
        if (this._summary.failure) {
          status = trans.__('%1: %2', status, this._summary.failure);
        }
      } else if (this._unknown) {
        state = 'unknown';
        status = trans.__('no longer known to the server');
      } else {
        state = 'loading';
        status = trans.__('loading…');
      }
      if (this._serverDropped > 0) {
        status = trans.__(
          '%1 (the first %2 messages are no longer kept)',
          status,
          this._serverDropped
        );
      }
    }
    setText(this.sourceNode, source);
    this.sourceNode.title = id ?? '';
    setText(this.statusNode, status);
    this.statusNode.dataset.status = state;
  }

  /** One checkbox per rank: unchecked ranks are hidden. */
  private updateFilter(): void {
    const ranks = [...this.panes.keys()].sort((a, b) => a - b);
    const shown = [...this.filterNode.querySelectorAll<HTMLInputElement>('input')].map(input =>
      Number(input.dataset.rank)
    );
    if (shown.length === ranks.length && shown.every((r, i) => r === ranks[i])) {
      for (const input of this.filterNode.querySelectorAll<HTMLInputElement>('input')) {
        input.checked = !this._hidden.has(Number(input.dataset.rank));
      }
      return;
    }
    this.filterNode.textContent = '';
    if (ranks.length === 0) {
      return;
    }
    const legend = document.createElement('span');
    legend.className = 'jp-ddp-RankPanel-filterLabel';
    legend.textContent = this.trans.__('Ranks:');
    this.filterNode.append(legend);
    for (const rank of ranks) {
      const label = document.createElement('label');
      const input = document.createElement('input');
      input.type = 'checkbox';
      input.dataset.rank = String(rank);
      input.checked = !this._hidden.has(rank);
      input.setAttribute('aria-label', this.trans.__('Show rank %1', rank));
      input.addEventListener('change', () => {
        if (input.checked) {
          this._hidden.delete(rank);
        } else {
          this._hidden.add(rank);
        }
        this.updateLayout();
        this._stateChanged.emit();
      });
      label.append(input, document.createTextNode(String(rank)));
      this.filterNode.append(label);
    }
  }

  /** Show the selected tab's pane, or every pane side by side; hide filtered-out ranks. */
  private updateLayout(): void {
    const visible = [...this.panes.keys()].sort((a, b) => a - b).filter(r => !this._hidden.has(r));
    const current = this.currentTab();
    for (const [rank, pane] of this.panes) {
      pane.showTitle(this._sideBySide);
      pane.setHidden(this._hidden.has(rank) || (!this._sideBySide && rank !== current));
    }
    this.body.toggleClass('jp-ddp-mod-sideBySide', this._sideBySide);
    this.tabsNode.hidden = this._sideBySide || visible.length === 0;
    this.empty.setHidden(visible.length > 0);
    setText(
      this.empty.node,
      this._executionId === null
        ? this.trans.__('Run a DDP cell, or select one that ran: its ranks’ output shows here.')
        : this.panes.size === 0
          ? this.trans.__('No output yet.')
          : this.trans.__('Every rank is filtered out: tick a rank above.')
    );
    this.updateTabs();
    // Panes just shown render at once (onAfterShow); the rest at the next tick.
    this.scheduleRender();
  }

  /** The rank whose tab is selected: the one the user chose, while it is shown; else the first. */
  private currentTab(): number | null {
    const visible = [...this.panes.keys()].sort((a, b) => a - b).filter(r => !this._hidden.has(r));
    return this._selected !== null && visible.includes(this._selected)
      ? this._selected
      : (visible[0] ?? null);
  }

  private updateTabs(): void {
    const current = this.currentTab();
    const visible = [...this.panes.keys()].sort((a, b) => a - b).filter(r => !this._hidden.has(r));
    let buttons = [...this.tabsNode.querySelectorAll<HTMLButtonElement>('button')];
    if (
      buttons.length !== visible.length ||
      buttons.some((b, i) => Number(b.dataset.rank) !== visible[i])
    ) {
      this.tabsNode.textContent = '';
      buttons = visible.map(rank => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'jp-ddp-RankPanel-tab';
        button.id = `jp-ddp-rank-tab-${rank}`;
        button.dataset.rank = String(rank);
        button.setAttribute('role', 'tab');
        button.setAttribute('aria-controls', `jp-ddp-rank-pane-${rank}`);
        button.textContent = this.trans.__('Rank %1', rank);
        button.addEventListener('click', () => this.select(rank));
        this.tabsNode.append(button);
        return button;
      });
    }
    for (const button of buttons) {
      const rank = Number(button.dataset.rank);
      const selected = rank === current;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      const status = this._summary?.rankStatus[rank] ?? this._summary?.status ?? 'none';
      button.dataset.status = status;
      button.title = status === 'none' ? '' : this.statusLabel(status);
    }
  }

  private select(rank: number): void {
    if (this._selected !== rank) {
      this._selected = rank;
      this.updateLayout();
      this._stateChanged.emit();
    }
  }

  /** Arrow keys, Home and End move between the tabs (the selected tab is the one in tab order). */
  private onTabKey(event: KeyboardEvent): void {
    const tabs = [...this.tabsNode.querySelectorAll<HTMLButtonElement>('button')];
    const selected = this.currentTab();
    const current = tabs.findIndex(t => Number(t.dataset.rank) === selected);
    let next: number;
    switch (event.key) {
      case 'ArrowRight':
        next = (current + 1) % tabs.length;
        break;
      case 'ArrowLeft':
        next = (current - 1 + tabs.length) % tabs.length;
        break;
      case 'Home':
        next = 0;
        break;
      case 'End':
        next = tabs.length - 1;
        break;
      default:
        return;
    }
    event.preventDefault();
    this.select(Number(tabs[next].dataset.rank));
    tabs[next].focus();
  }
}

export interface RankOutputsPanelOptions {
  client: IDdpClient;
  rendermime: IRenderMimeRegistry;
  translator?: ITranslator;
  trans: TranslationBundle;
  /** Where an execution comes from ("train.ipynb, cell 3"), or null when unknown. */
  describe: (executionId: string) => string | null;
  limits?: BufferLimits;
  /** Buttons in the header (push and pull). */
  actions?: PanelAction[];
}

export interface PanelAction {
  label: string;
  caption: string;
  run(): void;
}

function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}

/** An output area model whose stream outputs are never merged: the pane sends whole chunks. */
class ChunkedOutputAreaModel extends OutputAreaModel {
  shouldCombine(): boolean {
    return false;
  }

  /** Remove the outputs from `start` on, in one change. */
  removeFrom(start: number): void {
    if (start >= this.length) {
      return;
    }
    const removed = [...this.list].slice(start);
    this.list.removeRange(start, this.length);
    removed.forEach(item => item.dispose());
  }

  /** Remove the first `count` outputs, in one change. */
  removeFirst(count: number): void {
    if (count <= 0) {
      return;
    }
    if (count >= this.length) {
      this.clear();
      return;
    }
    const removed = [...this.list].slice(0, count);
    this.list.removeRange(0, count);
    removed.forEach(item => item.dispose());
  }
}

/** What a pane shows as one output of its output area: a buffer output, or a chunk of a stream. */
interface PaneItem {
  /** The same item keeps its id while it lives. */
  id: string;
  /** Changes whenever its content does. */
  sig: string;
  output: () => IOutput;
}

/**
 * One rank's outputs, rendered by JupyterLab's own output area from the rank's bounded buffer.
 * Long streams are rendered in chunks of lines, so that output arriving re-renders only the last
 * chunk and dropping the oldest removes whole chunks: a flood never re-renders a whole pane.
 */
class RankPane extends Panel {
  constructor(
    readonly rank: number,
    private readonly buffer: RankBuffer,
    rendermime: IRenderMimeRegistry,
    translator: ITranslator | undefined,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-ddp-RankPane');
    this.id = `jp-ddp-rank-pane-${rank}`;
    this.node.dataset.rank = String(rank);
    this.node.setAttribute('role', 'tabpanel');
    this.node.setAttribute('aria-label', trans.__('Rank %1', rank));
    // Focusable, so that its output scrolls with the keyboard.
    this.node.tabIndex = 0;
    this.titleWidget = new Widget();
    this.titleWidget.addClass('jp-ddp-RankPane-title');
    this.titleWidget.node.textContent = trans.__('Rank %1', rank);
    this.note = new Widget();
    this.note.addClass('jp-ddp-RankPane-note');
    this.note.hide();
    this.model = new ChunkedOutputAreaModel({ trusted: true });
    this.area = new OutputArea({ model: this.model, rendermime, translator });
    this.area.addClass('jp-ddp-RankPane-output');
    this.addWidget(this.titleWidget);
    this.addWidget(this.note);
    this.addWidget(this.area);
    // Like `tail -f`: the pane keeps to the newest output until the user scrolls up (scrolls that
    // follow the user's wheel, keys or pointer say where the user wants to be; others do not).
    const userInput = () => (this.userInputAt = performance.now());
    for (const type of ['wheel', 'keydown', 'pointerdown', 'touchmove']) {
      this.node.addEventListener(type, userInput, { passive: true });
    }
    this.node.addEventListener('scroll', () => {
      const node = this.node;
      if (node.clientHeight > 0 && performance.now() - this.userInputAt < USER_SCROLL_MS) {
        this.stick = node.scrollHeight - node.scrollTop - node.clientHeight < 40;
      }
    });
  }

  showTitle(show: boolean): void {
    this.titleWidget.setHidden(!show);
  }

  /** Bring the output area up to the buffer's state, changing only the outputs that changed. */
  sync(): void {
    const buffer = this.buffer;
    if (buffer.version === this.renderedVersion) {
      return;
    }
    this.renderedVersion = buffer.version;
    const wanted = this.items();
    const ids = new Set(wanted.map(item => item.id));
    const rendered = this.rendered;
    // The oldest outputs were dropped (or all of them cleared).
    let gone = 0;
    while (gone < rendered.length && !ids.has(rendered[gone].id)) {
      gone++;
    }
    this.model.removeFirst(gone);
    rendered.splice(0, gone);
    // Outputs kept: re-render those that changed, up to the first that is not the same output.
    let n = 0;
    for (; n < rendered.length && n < wanted.length && rendered[n].id === wanted[n].id; n++) {
      if (rendered[n].sig !== wanted[n].sig) {
        this.model.set(n, wanted[n].output());
        rendered[n] = { id: wanted[n].id, sig: wanted[n].sig };
      }
    }
    this.model.removeFrom(n);
    rendered.splice(n);
    for (; n < wanted.length; n++) {
      this.model.add(wanted[n].output());
      rendered.push({ id: wanted[n].id, sig: wanted[n].sig });
    }

    const { droppedChars, droppedOutputs } = buffer;
    const dropped = droppedChars > 0 || droppedOutputs > 0;
    this.note.setHidden(!dropped);
    setText(
      this.note.node,
      !dropped
        ? ''
        : droppedOutputs > 0
          ? this.trans.__(
              'Earlier output was dropped to keep the page responsive (%1 characters, %2 outputs).',
              droppedChars.toLocaleString(),
              droppedOutputs.toLocaleString()
            )
          : this.trans.__(
              'Earlier output was dropped to keep the page responsive (%1 characters).',
              droppedChars.toLocaleString()
            )
    );
    this.keepToBottom();
  }

  protected onAfterShow(): void {
    this.sync();
    this.keepToBottom();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this.model.dispose();
  }

  /** What the output area should show: each output, long streams as chunks of lines. */
  private items(): PaneItem[] {
    const buffer = this.buffer;
    const items: PaneItem[] = [];
    for (const output of buffer.outputs) {
      let id = this.ids.get(output);
      if (id === undefined) {
        id = this.nextId++;
        this.ids.set(output, id);
      }
      const rev = buffer.revOf(output);
      if (output.output_type !== 'stream') {
        items.push({ id: String(id), sig: String(rev), output: () => output });
        continue;
      }
      let chunker = this.chunkers.get(output);
      if (!chunker) {
        chunker = new StreamChunker();
        this.chunkers.set(output, chunker);
      }
      const text = output.text as string;
      const base = buffer.baseOf(output);
      const name = output.name;
      for (const chunk of chunker.update(text, base, rev)) {
        items.push({
          id: `${id}.${chunk.no}`,
          sig: `${chunk.start}-${chunk.end}${chunk.open ? `.${rev}` : ''}`,
          output: () => ({
            output_type: 'stream',
            name,
            text: text.slice(chunk.start - base, chunk.end - base)
          })
        });
      }
    }
    return items;
  }

  /**
   * Scroll to the end while the pane sticks to it; again on the next frames, as outputs that were
   * off screen (and skipped layout) get their real heights.
   */
  private keepToBottom(frames = 3): void {
    if (!this.stick || this.isDisposed) {
      return;
    }
    cancelAnimationFrame(this.scrollFrame);
    this.scrollFrame = requestAnimationFrame(() => {
      if (this.stick && !this.isDisposed) {
        this.node.scrollTop = this.node.scrollHeight;
        if (frames > 1) {
          this.keepToBottom(frames - 1);
        }
      }
    });
  }

  private readonly titleWidget: Widget;
  private readonly note: Widget;
  private readonly model: ChunkedOutputAreaModel;
  private readonly area: OutputArea;
  private readonly ids = new WeakMap<IOutput, number>();
  private readonly chunkers = new WeakMap<IOutput, StreamChunker>();
  private nextId = 0;
  private rendered: { id: string; sig: string }[] = [];
  private renderedVersion = -1;
  private stick = true;
  private userInputAt = -Infinity;
  private scrollFrame = 0;
}

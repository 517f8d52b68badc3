import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { setText } from './dom';

/** A button in the panel's header (push and pull). */
export interface PanelAction {
  label: string;
  caption: string;
  run(): void;
}

/** What the user did in the header. */
export interface HeaderEvents {
  sideBySideChanged(sideBySide: boolean): void;
  followChanged(follow: boolean): void;
  rankShown(rank: number, shown: boolean): void;
  tabSelected(rank: number): void;
}

/** A rank's tab: its status (`data-status`) and what its tooltip says of it. */
export interface TabStatus {
  state: string;
  label: string;
}

/**
 * The rank panel's header and controls: where the execution comes from and how it is doing, a
 * checkbox per rank (unchecked ranks are hidden), "side by side" and "follow", the actions, and
 * the rank tabs (arrow keys, Home and End move between them). It only shows what it is told, and
 * says what the user chose through `HeaderEvents`.
 */
export class RankPanelHeader extends Widget {
  constructor(
    private readonly _trans: TranslationBundle,
    actions: PanelAction[],
    private readonly _events: HeaderEvents
  ) {
    super();
    this.addClass('jp-ddp-RankPanel-header');
    const node = this.node;

    const summary = document.createElement('div');
    summary.className = 'jp-ddp-RankPanel-summary';
    this._source.className = 'jp-ddp-RankPanel-source';
    this._status.className = 'jp-ddp-RankPanel-status';
    this._status.setAttribute('role', 'status');
    summary.append(this._source, this._status);

    const controls = document.createElement('div');
    controls.className = 'jp-ddp-RankPanel-controls';
    this._filter.className = 'jp-ddp-RankPanel-filter';
    this._filter.setAttribute('role', 'group');
    this._filter.setAttribute('aria-label', _trans.__('Ranks shown'));
    controls.append(this._filter);
    const checkbox = (input: HTMLInputElement, className: string, label: string) => {
      const wrapper = document.createElement('label');
      wrapper.className = className;
      input.type = 'checkbox';
      wrapper.append(input, document.createTextNode(label));
      controls.append(wrapper);
    };
    checkbox(this._sideBySide, 'jp-ddp-RankPanel-sideBySide', _trans.__('All ranks side by side'));
    this._sideBySide.addEventListener('change', () =>
      _events.sideBySideChanged(this._sideBySide.checked)
    );
    checkbox(this._follow, 'jp-ddp-RankPanel-follow', _trans.__('Follow the running cell'));
    this._follow.addEventListener('change', () => _events.followChanged(this._follow.checked));

    for (const action of actions) {
      const button = document.createElement('button');
      button.className = 'jp-Button jp-mod-styled jp-mod-reject jp-ddp-RankPanel-action';
      button.textContent = action.label;
      button.title = action.caption;
      button.addEventListener('click', () => action.run());
      controls.append(button);
    }

    this._tabs.className = 'jp-ddp-RankPanel-tabs';
    this._tabs.setAttribute('role', 'tablist');
    this._tabs.setAttribute('aria-label', _trans.__('Ranks'));
    this._tabs.addEventListener('keydown', event => this._onTabKey(event));

    node.append(summary, controls, this._tabs);
  }

  /** The control to focus when the panel is activated: the selected tab, else a checkbox. */
  get focusTarget(): HTMLElement {
    const tab = this._tabs.querySelector<HTMLElement>('[role="tab"][aria-selected="true"]');
    return tab && tab.offsetParent !== null ? tab : this._sideBySide;
  }

  setChoices(sideBySide: boolean, follow: boolean): void {
    this._sideBySide.checked = sideBySide;
    this._follow.checked = follow;
  }

  /** Where the execution comes from (`title`: its id), and how it is doing (`state`). */
  setSource(source: string, title: string, status: string, state: string): void {
    setText(this._source, source);
    this._source.title = title;
    setText(this._status, status);
    this._status.dataset.status = state;
  }

  /** One checkbox per rank, ticked unless hidden. */
  setFilter(ranks: number[], hidden: ReadonlySet<number>): void {
    const inputs = [...this._filter.querySelectorAll<HTMLInputElement>('input')];
    if (!sameRanks(inputs, ranks)) {
      this._filter.textContent = '';
      if (ranks.length > 0) {
        const legend = document.createElement('span');
        legend.className = 'jp-ddp-RankPanel-filterLabel';
        legend.textContent = this._trans.__('Ranks:');
        this._filter.append(legend);
      }
      for (const rank of ranks) {
        const label = document.createElement('label');
        const input = document.createElement('input');
        input.type = 'checkbox';
        input.dataset.rank = String(rank);
        input.setAttribute('aria-label', this._trans.__('Show rank %1', rank));
        input.addEventListener('change', () => this._events.rankShown(rank, input.checked));
        label.append(input, document.createTextNode(String(rank)));
        this._filter.append(label);
      }
    }
    for (const input of this._filter.querySelectorAll<HTMLInputElement>('input')) {
      input.checked = !hidden.has(Number(input.dataset.rank));
    }
  }

  /** A tab per rank shown (none side by side), `current` selected. */
  setTabs(
    visible: number[],
    current: number | null,
    hidden: boolean,
    statusOf: (rank: number) => TabStatus
  ): void {
    this._tabs.hidden = hidden;
    let buttons = [...this._tabs.querySelectorAll<HTMLButtonElement>('button')];
    if (!sameRanks(buttons, visible)) {
      this._tabs.textContent = '';
      buttons = visible.map(rank => {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'jp-ddp-RankPanel-tab';
        button.id = `jp-ddp-rank-tab-${rank}`;
        button.dataset.rank = String(rank);
        button.setAttribute('role', 'tab');
        button.setAttribute('aria-controls', `jp-ddp-rank-pane-${rank}`);
        button.textContent = this._trans.__('Rank %1', rank);
        button.addEventListener('click', () => this._events.tabSelected(rank));
        this._tabs.append(button);
        return button;
      });
    }
    for (const button of buttons) {
      const rank = Number(button.dataset.rank);
      const selected = rank === current;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      const { state, label } = statusOf(rank);
      button.dataset.status = state;
      button.title = label;
    }
  }

  /** Arrow keys, Home and End move between the tabs (the selected tab is the one in tab order). */
  private _onTabKey(event: KeyboardEvent): void {
    const tabs = [...this._tabs.querySelectorAll<HTMLButtonElement>('button')];
    const current = tabs.findIndex(t => t.getAttribute('aria-selected') === 'true');
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
    this._events.tabSelected(Number(tabs[next].dataset.rank));
    tabs[next].focus();
  }

  private readonly _source = document.createElement('span');
  private readonly _status = document.createElement('span');
  private readonly _filter = document.createElement('div');
  private readonly _sideBySide = document.createElement('input');
  private readonly _follow = document.createElement('input');
  private readonly _tabs = document.createElement('div');
}

/** Whether the elements stand for exactly these ranks, in order (`data-rank`). */
function sameRanks(elements: HTMLElement[], ranks: number[]): boolean {
  return (
    elements.length === ranks.length &&
    elements.every((e, i) => Number(e.dataset.rank) === ranks[i])
  );
}

import { Cell } from '@jupyterlab/cells';
import { TranslationBundle } from '@jupyterlab/translation';
import { PanelLayout, Widget } from '@lumino/widgets';

import { CellNotice } from './notices';

/**
 * A running DDP cell's notices (see notices.ts), between its outputs and its footer: part of the
 * cell's view, never of its outputs, so nothing of it is saved with the notebook.
 */
export class NoticeView extends Widget {
  private _shown = '';

  constructor(
    private readonly _trans: TranslationBundle,
    private readonly _restart: () => void
  ) {
    super();
    this.addClass('jp-ddp-CellNotice');
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-live', 'polite');
    this.hide();
  }

  /** Put the view into `cell`, above the cell's footer. */
  mount(cell: Cell): void {
    const layout = cell.layout as PanelLayout;
    const footer = layout.widgets.findIndex(w => w.hasClass('jp-Cell-footer'));
    layout.insertWidget(footer === -1 ? layout.widgets.length : footer, this);
  }

  setNotices(notices: CellNotice[]): void {
    // Rebuilt only when the text changes: a button under the pointer or in focus stays.
    const key = JSON.stringify(notices);
    if (key === this._shown) {
      return;
    }
    this._shown = key;
    this.node.textContent = '';
    for (const notice of notices) {
      const item = document.createElement('div');
      item.className = 'jp-ddp-CellNotice-item';
      item.dataset.kind = notice.kind;
      const text = document.createElement('span');
      text.className = 'jp-ddp-CellNotice-text';
      text.textContent = notice.text;
      item.append(text);
      if (notice.offerRestart) {
        const button = document.createElement('button');
        button.className = 'jp-Button jp-mod-styled jp-mod-warn jp-ddp-CellNotice-restart';
        button.textContent = this._trans.__('Restart group');
        button.title = this._trans.__(
          'Stop every rank and start the group again: running cells end, the ranks’ variables are lost'
        );
        button.addEventListener('click', () => this._restart());
        item.append(button);
      }
      this.node.append(item);
    }
    this.setHidden(notices.length === 0);
  }
}

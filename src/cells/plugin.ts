import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { CellCommandIDs, NotebookCommandIDs } from '../commands/ids';
import { ddpIcon, everywhereIcon, localIcon } from '../icons';
import { CellMode } from '../protocol/cell-mode';
import { ddpTranslations } from '../translation';
import {
  effectiveMode,
  isAuto,
  markOf,
  setAuto,
  setMark,
  setShowAllRanks,
  showsAllRanks
} from './metadata';

const NEXT_MODE: Record<CellMode, CellMode> = {
  local: 'ddp',
  ddp: 'everywhere',
  everywhere: 'local'
};
const ICONS = { local: localIcon, ddp: ddpIcon, everywhere: everywhereIcon };

/** Marking cells local / DDP / everywhere, auto-DDP, and the badge that shows where a cell runs. */
export const cellsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-ddp:cells',
  description: 'Marks notebook cells to run locally, on the DDP ranks, or everywhere.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = ddpTranslations(translator);
    const labels: Record<CellMode, string> = {
      local: trans.__('Local'),
      ddp: trans.__('DDP'),
      everywhere: trans.__('Everywhere')
    };

    const selectedCodeCells = (): Cell[] => {
      const notebook = tracker.currentWidget?.content;
      if (!notebook) {
        return [];
      }
      return notebook.widgets.filter(
        c => notebook.isSelectedOrActive(c) && c.model.type === 'code'
      );
    };
    const activeMark = () => (tracker.activeCell ? markOf(tracker.activeCell.model) : null);
    const activeMode = (): CellMode | null => {
      const cell = tracker.activeCell;
      const model = tracker.currentWidget?.model;
      return cell && model && cell.model.type === 'code' ? effectiveMode(cell.model, model) : null;
    };
    const hasCodeCell = () => tracker.activeCell?.model.type === 'code';

    const mark = (id: string, mode: CellMode, caption: string) =>
      app.commands.addCommand(id, {
        label: trans.__('Run Cell: %1', labels[mode]),
        caption,
        icon: ICONS[mode],
        isEnabled: hasCodeCell,
        isToggled: () => activeMark() === mode,
        execute: () => selectedCodeCells().forEach(c => setMark(c.model, mode))
      });
    mark(
      CellCommandIDs.markLocal,
      'local',
      trans.__('Run the selected cells in the notebook kernel only')
    );
    mark(CellCommandIDs.markDdp, 'ddp', trans.__('Run the selected cells on every DDP rank'));
    mark(
      CellCommandIDs.markEverywhere,
      'everywhere',
      trans.__('Run the selected cells locally, then on every DDP rank')
    );

    app.commands.addCommand(CellCommandIDs.clearMark, {
      label: trans.__('Run Cell: Notebook Default'),
      caption: trans.__('Remove the mark: the cell runs on the ranks under auto-DDP, else locally'),
      isEnabled: hasCodeCell,
      execute: () => selectedCodeCells().forEach(c => setMark(c.model, null))
    });
    app.commands.addCommand(CellCommandIDs.cycleMode, {
      label: () => {
        const mode = activeMode();
        return mode ? trans.__('Runs: %1', labels[mode]) : trans.__('Where the Cell Runs');
      },
      caption: trans.__('Where this cell runs: local, DDP or everywhere (click to change)'),
      icon: () => ICONS[activeMode() ?? 'local'],
      isEnabled: hasCodeCell,
      execute: () => {
        const mode = activeMode() ?? 'local';
        selectedCodeCells().forEach(c => setMark(c.model, NEXT_MODE[mode]));
      }
    });
    app.commands.addCommand(CellCommandIDs.runOnDdp, {
      label: trans.__('Run Cell on DDP Ranks'),
      caption: trans.__('Mark the cell DDP and run it on every rank'),
      icon: ddpIcon,
      isEnabled: hasCodeCell,
      execute: async () => {
        selectedCodeCells().forEach(c => setMark(c.model, 'ddp'));
        await app.commands.execute(NotebookCommandIDs.runCell);
      }
    });
    app.commands.addCommand(CellCommandIDs.toggleAuto, {
      label: trans.__('Auto-DDP'),
      caption: trans.__('Run unmarked cells on the DDP ranks (cells marked local stay local)'),
      icon: ddpIcon,
      isEnabled: () => tracker.currentWidget !== null,
      isToggled: () => (tracker.currentWidget ? isAuto(tracker.currentWidget.model!) : false),
      execute: () => {
        const model = tracker.currentWidget?.model;
        if (model) {
          setAuto(model, !isAuto(model));
        }
      }
    });
    app.commands.addCommand(CellCommandIDs.toggleAllRanks, {
      label: trans.__('Show Every Rank’s Output'),
      caption: trans.__('Show the outputs of all ranks in this cell, not only rank 0’s'),
      isEnabled: hasCodeCell,
      isToggled: () => (tracker.activeCell ? showsAllRanks(tracker.activeCell.model) : false),
      execute: () => {
        const all = !(tracker.activeCell && showsAllRanks(tracker.activeCell.model));
        selectedCodeCells().forEach(c => setShowAllRanks(c.model, all));
      }
    });

    const refreshCommands = () => app.commands.notifyCommandChanged();
    tracker.activeCellChanged.connect(refreshCommands);
    tracker.currentChanged.connect(refreshCommands);
    tracker.widgetAdded.connect((_, panel) => showModes(panel, trans, refreshCommands));

    if (palette) {
      const category = trans.__('DDP');
      for (const command of Object.values(CellCommandIDs)) {
        palette.addItem({ command, category });
      }
    }
  }
};

/** Keep every cell's badge (`data-ddp-mode`, label) in step with its mark and auto-DDP. */
function showModes(panel: NotebookPanel, trans: TranslationBundle, changed: () => void): void {
  const notebook = panel.content;
  const update = () => {
    const model = panel.model;
    if (!model) {
      return;
    }
    const auto = isAuto(model);
    panel.node.classList.toggle('jp-ddp-mod-auto', auto);
    for (const cell of notebook.widgets) {
      const mark = cell.model.type === 'code' ? markOf(cell.model) : null;
      const shown = mark ?? (auto && cell.model.type === 'code' ? 'ddp' : null);
      if (shown) {
        cell.node.dataset.ddpMode = shown;
        cell.node.dataset.ddpLabel =
          mark === null
            ? trans.__('DDP (auto)')
            : {
                local: trans.__('local'),
                ddp: trans.__('DDP'),
                everywhere: trans.__('everywhere')
              }[mark];
      } else {
        delete cell.node.dataset.ddpMode;
        delete cell.node.dataset.ddpLabel;
      }
    }
    changed();
  };
  const watched = new WeakSet<object>();
  const watchCells = () => {
    for (const cell of notebook.widgets) {
      if (!watched.has(cell.model)) {
        watched.add(cell.model);
        cell.model.metadataChanged.connect(update);
      }
    }
    update();
  };
  void panel.context.ready.then(() => {
    panel.model?.metadataChanged.connect(update);
    panel.model?.cells.changed.connect(() => requestAnimationFrame(watchCells));
    watchCells();
  });
}

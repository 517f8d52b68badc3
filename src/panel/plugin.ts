import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, WidgetTracker } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { IDdpClient } from '../client/tokens';
import { PanelCommandIDs as CommandIDs, TransferCommandIDs } from '../commands/ids';
import { ddpIcon } from '../icons';
import { IDdpFeeds } from '../outputs/tokens';
import { ExecutionSummary } from '../protocol/api';
import { ddpTranslations } from '../translation';
import { DdpExecutions } from './executions';
import { IDdpExecutions } from './tokens';
import { RankOutputsPanel, RankPanelState } from './widget';

/** The tab's record of which DDP execution last ran each cell. */
export const executionsPlugin: JupyterFrontEndPlugin<IDdpExecutions> = {
  id: 'jupyterlab-ddp:executions',
  description: 'Remembers the last DDP execution of each cell run in this tab.',
  autoStart: true,
  provides: IDdpExecutions,
  activate: () => new DdpExecutions()
};

/**
 * The rank output panel: every rank's output of the running DDP cell, or of the selected cell's
 * last DDP run. Opens in the main area, split to the right, and comes back after a reload.
 */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-ddp:panel',
  description: 'A panel with every DDP rank’s output, tabbed or side by side.',
  autoStart: true,
  requires: [IDdpClient, IDdpFeeds, IRenderMimeRegistry, IDdpExecutions],
  optional: [INotebookTracker, ILayoutRestorer, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: IDdpClient,
    feeds: IDdpFeeds,
    rendermime: IRenderMimeRegistry,
    executions: IDdpExecutions,
    notebooks: INotebookTracker | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ) => {
    const trans = ddpTranslations(translator);
    const tracker = new WidgetTracker<RankOutputsPanel>({ namespace: 'ddp-rank-outputs' });
    let panel: RankOutputsPanel | null = null;

    // Executions seen on the socket: those running (newest last), and the newest of all.
    const running = new Map<string, ExecutionSummary>();
    let newest: string | null = null;
    client.connection.execution.connect((_, summary) => {
      newest = summary.id;
      if (summary.status === 'running') {
        running.set(summary.id, summary);
      } else {
        running.delete(summary.id);
      }
    });

    const selectedExecution = (): string | undefined => {
      const cell = notebooks?.activeCell;
      return cell ? executions.get(cell.model.id) : undefined;
    };

    const describe = (executionId: string): string | null => {
      const source = executions.sourceOf(executionId);
      if (!source) {
        return null;
      }
      const notebook = source.path ? notebooks?.find(p => p.context.path === source.path) : null;
      const index = notebook
        ? notebook.content.widgets.findIndex(c => c.model.id === source.cellId)
        : -1;
      const name = source.path ? PathExt.basename(source.path) : trans.__('notebook');
      return index >= 0
        ? trans.__('%1, cell %2', name, index + 1)
        : trans.__('%1, a cell no longer open', name);
    };

    app.commands.addCommand(CommandIDs.openOutputPanel, {
      label: trans.__('DDP Rank Outputs'),
      caption: trans.__(
        'Every rank’s output of the running or selected DDP cell, tabbed or side by side'
      ),
      icon: ddpIcon,
      execute: args => {
        const state = args as Partial<RankPanelState> & { restoring?: boolean };
        if (!panel || panel.isDisposed) {
          const created = new RankOutputsPanel({
            client,
            feeds,
            rendermime,
            translator: translator ?? undefined,
            trans,
            describe,
            actions: [
              {
                label: trans.__('Push…'),
                caption: trans.__('Push variables of the notebook kernel to the ranks'),
                run: () => void app.commands.execute(TransferCommandIDs.push)
              },
              {
                label: trans.__('Pull…'),
                caption: trans.__('Pull variables of a rank into the notebook kernel'),
                run: () => void app.commands.execute(TransferCommandIDs.pull)
              }
            ]
          });
          created.restoreState(state);
          created.stateChanged.connect(() => void tracker.save(created));
          created.disposed.connect(() => {
            if (panel === created) {
              panel = null;
            }
          });
          panel = created;
          void tracker.add(created);
          app.shell.add(created, 'main', { mode: 'split-right', activate: !state.restoring });
        } else if (!state.restoring) {
          app.shell.activateById(panel.id);
        }
        const execution =
          (typeof state.execution === 'string' && state.execution) ||
          [...running.keys()].pop() ||
          selectedExecution() ||
          newest;
        if (execution) {
          panel.showExecution(execution, running.get(execution));
        }
        return panel;
      }
    });

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openOutputPanel,
        args: widget =>
          ({ ...widget.state, restoring: true }) as unknown as ReadonlyPartialJSONObject,
        name: () => 'ddp-rank-outputs'
      });
    }

    // Selecting a cell whose last DDP run is known shows that run; so does running the active cell.
    notebooks?.activeCellChanged.connect((_, cell) => {
      const execution = cell ? executions.get(cell.model.id) : undefined;
      if (panel && execution) {
        panel.showExecution(execution, running.get(execution));
      }
    });
    executions.changed.connect((_, change) => {
      if (!panel) {
        return;
      }
      if (notebooks?.activeCell?.model.id === change.cellId) {
        panel.showExecution(change.executionId, running.get(change.executionId));
      }
      if (panel.executionId === change.executionId) {
        panel.refreshHeader();
      }
    });

    palette?.addItem({ command: CommandIDs.openOutputPanel, category: trans.__('DDP') });
  }
};

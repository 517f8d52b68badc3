import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookCellExecutor, INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator } from '@jupyterlab/translation';

import { IDdpClient } from '../client/tokens';
import { GroupCommandIDs, NotebookCommandIDs } from '../commands/ids';
import { IDdpGroupManager } from '../group/tokens';
import { IDdpFeeds } from '../outputs/tokens';
import { IDdpExecutions } from '../panel/tokens';
import { ddpTranslations } from '../translation';
import { DdpCellExecutor, ExecutorSettings } from './executor';
import { showRanksPrompts } from './prompt';

const PLUGIN_ID = 'jupyterlab-ddp:executor';

/**
 * Replaces JupyterLab's cell executor (`@jupyterlab/notebook-extension:cell-executor`, disabled in
 * package.json) so every way of running cells goes through the DDP-aware one.
 */
export const executorPlugin: JupyterFrontEndPlugin<INotebookCellExecutor> = {
  id: PLUGIN_ID,
  description: 'Runs each notebook cell locally, on the DDP ranks, or both, in notebook order.',
  autoStart: true,
  requires: [IDdpClient, IDdpGroupManager, IDdpFeeds],
  optional: [ISettingRegistry, ITranslator, IDdpExecutions],
  provides: INotebookCellExecutor,
  activate: (
    app: JupyterFrontEnd,
    client: IDdpClient,
    groups: IDdpGroupManager,
    feeds: IDdpFeeds,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    executions: IDdpExecutions | null
  ) => {
    const trans = ddpTranslations(translator);
    let settings: ExecutorSettings = { showRanks: 'rank0', maxCellOutputChars: 200_000 };
    void settingRegistry?.load(PLUGIN_ID).then(loaded => {
      const read = () =>
        (settings = { ...settings, ...(loaded.composite as Partial<ExecutorSettings>) });
      loaded.changed.connect(read);
      read();
    });
    const executor = new DdpCellExecutor(client, groups, feeds, () => settings, trans, executions);

    // The notebook's stop button interrupts its kernel; while a DDP cell runs it reaches the ranks too.
    app.commands.commandExecuted.connect((_, { id }) => {
      if (id === NotebookCommandIDs.interruptKernel && executor.isRunningOnRanks) {
        void app.commands.execute(GroupCommandIDs.interrupt);
      }
    });
    return executor;
  }
};

/**
 * A page reloaded while DDP cells run picks their outputs up again. A plugin of its own: the
 * notebook tracker depends on the cell executor, so the executor plugin cannot depend on it.
 */
export const reattachPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-ddp:reattach',
  description: 'Shows the outputs of DDP cells that kept running while the page reloaded.',
  autoStart: true,
  requires: [INotebookCellExecutor, INotebookTracker],
  activate: (_app: JupyterFrontEnd, executor: INotebookCellExecutor, tracker: INotebookTracker) => {
    if (!(executor instanceof DdpCellExecutor)) {
      return;
    }
    tracker.widgetAdded.connect((_, panel) => {
      void panel.context.ready.then(() => executor.reattach(panel));
    });
  }
};

/** DDP cells' prompts read `[r2]:`: rank 0's count, never to be taken for the notebook kernel's. */
export const ranksPromptPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-ddp:ranks-prompt',
  description: 'Marks the execution counts of DDP cells as the ranks’ ([r2]:).',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker, translator: ITranslator | null) => {
    const trans = ddpTranslations(translator);
    tracker.widgetAdded.connect((_, panel) => {
      void panel.context.ready.then(() => showRanksPrompts(panel, trans));
    });
  }
};

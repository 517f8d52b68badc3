import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookCellExecutor } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { IDdpClient } from '../client/tokens';
import { CommandIDs as GroupCommands } from '../group/plugin';
import { IDdpGroupManager } from '../group/tokens';
import { DdpCellExecutor, ExecutorSettings } from './executor';

const PLUGIN_ID = 'jupyterlab-ddp:executor';

/**
 * Replaces JupyterLab's cell executor (`@jupyterlab/notebook-extension:cell-executor`, disabled in
 * package.json) so every way of running cells goes through the DDP-aware one.
 */
export const executorPlugin: JupyterFrontEndPlugin<INotebookCellExecutor> = {
  id: PLUGIN_ID,
  description: 'Runs each notebook cell locally, on the DDP ranks, or both, in notebook order.',
  autoStart: true,
  requires: [IDdpClient, IDdpGroupManager],
  optional: [ISettingRegistry, ITranslator],
  provides: INotebookCellExecutor,
  activate: (
    app: JupyterFrontEnd,
    client: IDdpClient,
    groups: IDdpGroupManager,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_ddp');
    let settings: ExecutorSettings = { showRanks: 'rank0', maxCellOutputChars: 200_000 };
    void settingRegistry?.load(PLUGIN_ID).then(loaded => {
      const read = () =>
        (settings = { ...settings, ...(loaded.composite as Partial<ExecutorSettings>) });
      loaded.changed.connect(read);
      read();
    });
    const executor = new DdpCellExecutor(client, groups, () => settings, trans);

    // The notebook's stop button interrupts its kernel; while a DDP cell runs it reaches the ranks too.
    app.commands.commandExecuted.connect((_, { id }) => {
      if (id === 'notebook:interrupt-kernel' && executor.isRunningOnRanks) {
        void app.commands.execute(GroupCommands.interrupt);
      }
    });
    return executor;
  }
};

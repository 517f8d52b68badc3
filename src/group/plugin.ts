import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator } from '@jupyterlab/translation';

import { IDdpClient } from '../client/tokens';
import { GroupCommandIDs } from '../commands/ids';
import { ddpTranslations } from '../translation';
import { DdpGroupManager, DEFAULT_GROUP_SETTINGS, GroupSettings } from './manager';
import { IDdpGroupManager } from './tokens';

const PLUGIN_ID = 'jupyterlab-ddp:group';

/** Group lifecycle commands, the controls dialog, and starting a group on demand. */
export const groupPlugin: JupyterFrontEndPlugin<IDdpGroupManager> = {
  id: PLUGIN_ID,
  description: 'Starts, stops, restarts and interrupts the DDP group.',
  autoStart: true,
  requires: [IDdpClient],
  optional: [ISettingRegistry, ITranslator, ICommandPalette],
  provides: IDdpGroupManager,
  activate: async (
    app: JupyterFrontEnd,
    client: IDdpClient,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ) => {
    const trans = ddpTranslations(translator);
    const manager = new DdpGroupManager(client, trans);
    if (settingRegistry) {
      const loaded = await settingRegistry.load(PLUGIN_ID);
      const read = () => {
        manager.settings = {
          ...DEFAULT_GROUP_SETTINGS,
          ...(loaded.composite as Partial<GroupSettings>)
        };
      };
      loaded.changed.connect(read);
      read();
    }

    app.commands.addCommand(GroupCommandIDs.start, {
      label: trans.__('Start DDP Group'),
      isEnabled: () => manager.canStart,
      execute: () => manager.start()
    });
    app.commands.addCommand(GroupCommandIDs.stop, {
      label: trans.__('Stop DDP Group'),
      isEnabled: () => manager.canStop,
      execute: () => manager.stop()
    });
    app.commands.addCommand(GroupCommandIDs.restart, {
      label: trans.__('Restart DDP Group'),
      isEnabled: () => manager.canStop,
      execute: () => manager.restart()
    });
    app.commands.addCommand(GroupCommandIDs.interrupt, {
      label: trans.__('Interrupt DDP Ranks'),
      isEnabled: () => manager.isRunning,
      execute: () => manager.interrupt()
    });
    app.commands.addCommand(GroupCommandIDs.controls, {
      label: trans.__('DDP Group…'),
      execute: () => manager.showControls()
    });
    client.connection.groupChanged.connect(() => app.commands.notifyCommandChanged());
    // Only a server run by the Jupyter server extension comes back as another process on its own.
    client.connection.serverRestarted.connect((_, reason) => {
      Notification.warning(
        reason
          ? trans.__(
              'The DDP server stopped (%1) and was started again. The DDP group was stopped with it: start it again to go on.',
              reason
            )
          : trans.__(
              'The DDP server was started again. The DDP group was stopped with it: start it again to go on.'
            ),
        // it stays until read: the group the user had is gone
        { autoClose: false }
      );
    });
    if (palette) {
      const category = trans.__('DDP');
      for (const command of Object.values(GroupCommandIDs)) {
        palette.addItem({ command, category });
      }
    }
    return manager;
  }
};

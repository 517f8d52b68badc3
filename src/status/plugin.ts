import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IDdpClient } from '../client/tokens';
import { GroupCommandIDs } from '../commands/ids';
import { GroupSummary } from '../protocol/api';
import { statusText, statusTitle } from '../protocol/group-text';
import { ddpTranslations } from '../translation';

const PLUGIN_ID = 'jupyterlab-ddp:status';

/** Status-bar item with the DDP group's state and shape; clicking it opens the group controls. */
export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Shows the DDP group state in the status bar.',
  autoStart: true,
  requires: [IStatusBar, IDdpClient],
  optional: [ITranslator, ISettingRegistry],
  activate: async (
    app: JupyterFrontEnd,
    statusBar: IStatusBar,
    client: IDdpClient,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const trans = ddpTranslations(translator);
    const item = new Widget({ node: document.createElement('button') });
    item.addClass('jp-ddp-StatusItem');
    item.node.addEventListener('click', () => void app.commands.execute(GroupCommandIDs.controls));
    let showWithoutServer = true;

    const { connection } = client;
    const render = (group: GroupSummary | null) => {
      item.node.textContent = statusText(group, trans);
      item.node.title = statusTitle(group, trans);
      item.node.dataset.state = group?.state ?? 'no-server';
      item.setHidden(group === null && !showWithoutServer);
    };
    render(connection.group);
    connection.groupChanged.connect((_, group) => render(group));

    statusBar.registerStatusItem(PLUGIN_ID, { item, align: 'left', rank: 4 });

    if (settingRegistry) {
      const settings = await settingRegistry.load(PLUGIN_ID);
      const apply = () => {
        showWithoutServer = settings.get('showWithoutServer').composite as boolean;
        render(connection.group);
      };
      settings.changed.connect(apply);
      apply();
    }
  }
};

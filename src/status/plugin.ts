import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { DdpConnection } from '../client/connection';
import { GroupSummary } from '../protocol/api';
import { statusText, statusTitle } from './text';

const PLUGIN_ID = 'jupyterlab-ddp:status';

/** Status-bar item with the DDP group's state and shape. */
export const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Shows the DDP group state in the status bar.',
  autoStart: true,
  requires: [IStatusBar],
  optional: [ITranslator, ISettingRegistry],
  activate: async (
    _app: JupyterFrontEnd,
    statusBar: IStatusBar,
    translator: ITranslator | null,
    settingRegistry: ISettingRegistry | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_ddp');
    const item = new Widget();
    item.addClass('jp-ddp-StatusItem');
    let showWithoutServer = true;

    const connection = new DdpConnection();
    const render = (group: GroupSummary | null) => {
      item.node.textContent = statusText(group, trans);
      item.node.title = statusTitle(group, trans);
      item.node.dataset.state = group?.state ?? 'no-server';
      item.setHidden(group === null && !showWithoutServer);
    };
    render(null);
    connection.groupChanged.connect((_, group) => render(group));

    statusBar.registerStatusItem(PLUGIN_ID, {
      item,
      align: 'left',
      rank: 4
    });

    if (settingRegistry) {
      const settings = await settingRegistry.load(PLUGIN_ID);
      const apply = () => {
        showWithoutServer = settings.get('showWithoutServer').composite as boolean;
        render(connection.group);
      };
      settings.changed.connect(apply);
      apply();
    }
    connection.connect();
  }
};

import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { DdpApi } from './api';
import { DdpConnection } from './connection';
import { IDdpClient } from './tokens';

/** One REST client and one WebSocket per tab. */
export const clientPlugin: JupyterFrontEndPlugin<IDdpClient> = {
  id: 'jupyterlab-ddp:client',
  description: 'Connects to the jupyter-ddp server.',
  autoStart: true,
  provides: IDdpClient,
  activate: () => {
    const connection = new DdpConnection();
    connection.connect();
    return { api: new DdpApi(), connection };
  }
};

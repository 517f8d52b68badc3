import { Token } from '@lumino/coreutils';

import { DdpApi } from './api';
import { DdpConnection } from './connection';

/** The tab's connection to the jupyter-ddp server, shared by every DDP plugin. */
export interface IDdpClient {
  api: DdpApi;
  connection: DdpConnection;
}

export const IDdpClient = new Token<IDdpClient>(
  'jupyterlab-ddp:IDdpClient',
  'The jupyter-ddp server client.'
);

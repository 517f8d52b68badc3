import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { ApiRequestError } from '../client/api';
import { IDdpClient } from '../client/tokens';
import { ExecutionFeeds, FeedSource } from './feeds';
import { IDdpFeeds } from './tokens';

/** The tab's socket and REST client as what the feeds listen to. */
function feedSourceOf({ connection, api }: IDdpClient): FeedSource {
  return {
    output: connection.output,
    execution: connection.execution,
    reconnected: connection.reconnected,
    record: (id, since) =>
      api.record(id, since).catch((err: unknown) => {
        if (err instanceof ApiRequestError && err.status === 404) {
          return null;
        }
        throw err;
      })
  };
}

/** One output feed per DDP execution shown, for the cells and the rank panel alike. */
export const feedsPlugin: JupyterFrontEndPlugin<IDdpFeeds> = {
  id: 'jupyterlab-ddp:feeds',
  description: 'One output feed per DDP execution shown, shared by its cell and the rank panel.',
  autoStart: true,
  requires: [IDdpClient],
  provides: IDdpFeeds,
  activate: (_app, client: IDdpClient) => new ExecutionFeeds(feedSourceOf(client))
};

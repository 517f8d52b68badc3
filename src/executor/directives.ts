import { INotebookModel } from '@jupyterlab/notebook';

import { DdpApi } from '../client/api';
import { IDdpGroupManager } from '../group/tokens';
import { DirectiveHost } from '../protocol/directives';

/**
 * The UI's side of Ddip's directives (protocol/directives.ts performs them): the group through
 * the REST API, started from the group settings with the notebook's kernel, and the notebook
 * model's metadata.
 */
export function notebookDirectiveHost(
  notebook: INotebookModel,
  api: DdpApi,
  groups: IDdpGroupManager,
  kernelName: string | undefined
): DirectiveHost {
  return {
    group: () => api.group(),
    start: shape => api.start(groups.startRequest({ kernelName, ...shape })),
    restart: () => api.restart(),
    stop: () => api.stop(),
    notebookDdp: () => notebook.getMetadata('ddp'),
    setNotebookDdp: ddp => {
      if (ddp === undefined) {
        notebook.deleteMetadata('ddp');
      } else {
        notebook.setMetadata('ddp', ddp);
      }
    }
  };
}

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { CellSource, neededGroup } from './needed-group';
import { IDdpGroupManager } from './tokens';

/**
 * Warm start: when a notebook whose cells run on the ranks opens (and again if its kernel changes
 * to another kernelspec), the server starts that group's spare kernels in the background, so the
 * first DDP cell waits about as long as a restart. The manager skips it when the `warmStart`
 * setting is off or a group runs; the start itself still asks first.
 */
export const warmStartPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-ddp:warm-start',
  description: 'Starts the DDP ranks’ spare kernels when a notebook with DDP cells opens.',
  autoStart: true,
  requires: [INotebookTracker, IDdpGroupManager],
  activate: (_app: JupyterFrontEnd, tracker: INotebookTracker, groups: IDdpGroupManager) => {
    tracker.widgetAdded.connect((_, panel) => void warmFor(panel, groups));
  }
};

async function warmFor(panel: NotebookPanel, groups: IDdpGroupManager): Promise<void> {
  await panel.context.ready;
  let warmed: string | null = null; // the kernelspec last warmed for ('': the default)
  const warm = () => {
    const model = panel.model;
    if (panel.isDisposed || !model) {
      return;
    }
    const kernelName =
      panel.sessionContext.session?.kernel?.name ??
      (model.getMetadata('kernelspec') as { name?: string } | undefined)?.name;
    const shape = neededGroup({ ddp: model.getMetadata('ddp') }, cellsOf(model));
    if (shape && (kernelName ?? '') !== warmed) {
      warmed = kernelName ?? '';
      void groups.warm(kernelName, shape);
    }
  };
  warm();
  panel.sessionContext.kernelChanged.connect(warm);
}

function* cellsOf(model: INotebookModel): Iterable<CellSource> {
  for (let i = 0; i < model.cells.length; i++) {
    const cell = model.cells.get(i);
    yield {
      type: cell.type,
      source: cell.sharedModel.getSource(),
      metadata: { ddp: cell.getMetadata('ddp') }
    };
  }
}

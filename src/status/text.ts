import { TranslationBundle } from '@jupyterlab/translation';

import { GroupSummary } from '../protocol/api';

/** The status-bar label for a group; null means no jupyter-ddp server answers. */
export function statusText(group: GroupSummary | null, trans: TranslationBundle): string {
  if (group === null) {
    return trans.__('DDP: no server');
  }
  switch (group.state) {
    case 'stopped':
      return trans.__('DDP: stopped');
    case 'failed':
      return group.error ? trans.__('DDP: failed — %1', group.error) : trans.__('DDP: failed');
    default: {
      const device = group.device === 'gpu' ? trans.__('GPU') : trans.__('CPU');
      const state =
        group.state === 'starting'
          ? trans.__('starting')
          : group.state === 'busy'
            ? trans.__('busy')
            : trans.__('ready');
      return trans.__('DDP: %1 x %2 %3', group.worldSize, device, state);
    }
  }
}

/** The hover text: what the label means and what to do about it. */
export function statusTitle(group: GroupSummary | null, trans: TranslationBundle): string {
  if (group === null) {
    return trans.__(
      'No jupyter-ddp server answers. Start JupyterLab with `jupyter-ddp lab` to run cells on DDP ranks.'
    );
  }
  return trans.__('DistributedDataParallel group: %1. Click for the group controls.', group.state);
}

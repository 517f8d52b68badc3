import { INotebookModel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { DdpApi } from '../client/api';
import { IDdpGroupManager } from '../group/tokens';
import { GroupInfo, isRunning } from '../protocol/api';
import { Directive } from '../protocol/magics';
import { statusText } from '../status/text';

/**
 * Perform a cell's `%autodip` and `%makedip` lines (before its code runs); gives what to print.
 * Throws with the server's message when the group cannot do what was asked.
 */
export async function performDirectives(
  directives: Directive[],
  notebook: INotebookModel,
  api: DdpApi,
  groups: IDdpGroupManager,
  kernelName: string | undefined,
  trans: TranslationBundle
): Promise<string[]> {
  const said: string[] = [];
  for (const directive of directives) {
    if (directive.kind === 'autodip') {
      const {
        auto: _auto,
        show: _show,
        ...rest
      } = (notebook.getMetadata('ddp') as Record<string, unknown> | undefined) ?? {};
      const show = directive.options.quiet ? [] : directive.options.see;
      notebook.setMetadata('ddp', {
        ...rest,
        ...(directive.on ? { auto: true } : {}),
        ...(directive.on && show !== null ? { show } : {})
      });
      said.push(
        directive.on
          ? trans.__('Auto-DDP is on: unmarked cells run on the ranks.')
          : trans.__('Auto-DDP is off: unmarked cells run in the notebook kernel.')
      );
    } else {
      said.push(groupLine(await makedip(directive, api, groups, kernelName), trans));
    }
  }
  return said;
}

async function makedip(
  directive: Extract<Directive, { kind: 'makedip' }>,
  api: DdpApi,
  groups: IDdpGroupManager,
  kernelName: string | undefined
): Promise<GroupInfo> {
  const current = await api.group();
  const running = isRunning(current.state);
  switch (directive.action) {
    case 'info':
      return current;
    case 'kill':
      return api.stop();
    case 'restart':
      if (running) {
        return api.restart();
      }
      break;
    case 'start':
      if (running) {
        return current; // as Ddip: an existing group is kept (-r restarts it)
      }
      break;
  }
  if (current.state === 'failed') {
    await api.stop();
  }
  const shape =
    directive.cpus !== null
      ? { cpuRanks: directive.cpus, gpus: undefined }
      : directive.gpus !== null
        ? { gpus: directive.gpus }
        : {};
  return api.start(groups.startRequest({ kernelName, ...shape }));
}

function groupLine(info: GroupInfo, trans: TranslationBundle): string {
  const ranks = info.ranks.map(r => trans.__('rank %1 pid %2', r.rank, r.pid ?? '?')).join(', ');
  const backend = info.backend ? ` (${info.backend})` : '';
  return `${statusText(info, trans)}${backend}${ranks ? `: ${ranks}` : ''}`;
}

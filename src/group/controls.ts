import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { GroupSummary, StartGroupRequest } from '../protocol/api';
import { GpuList, parseGpuList } from '../protocol/gpu-list';

export interface GroupDefaults {
  gpus: string;
  cpuRanks: number;
}

/** The body of the group dialog: its state, and what the next start will use. */
export class GroupControls extends Widget {
  private _gpus: HTMLInputElement;
  private _cpuRanks: HTMLInputElement;
  private readonly _gpusProblem: HTMLParagraphElement;

  constructor(
    group: GroupSummary | null,
    notices: string[],
    defaults: GroupDefaults,
    trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-ddp-GroupControls');
    const state = document.createElement('p');
    state.className = 'jp-ddp-GroupControls-state';
    state.textContent =
      group === null
        ? trans.__('No jupyter-ddp server answers: start JupyterLab with `jupyter-ddp lab`.')
        : group.state === 'failed'
          ? trans.__(
              'The group failed: %1. Restart it, or stop it and start again.',
              group.error ?? ''
            )
          : trans.__('State: %1, %2 ranks.', group.state, group.worldSize);
    this.node.appendChild(state);
    for (const notice of notices) {
      const pre = document.createElement('pre');
      pre.className = 'jp-ddp-GroupControls-notice';
      pre.textContent = notice;
      this.node.appendChild(pre);
    }
    this._gpus = this._field(
      trans.__('GPUs ("all" or indices such as 0,2)'),
      'text',
      defaults.gpus,
      'gpus'
    );
    // What is wrong with the GPU list, said while it is typed (a start refuses it too).
    this._gpusProblem = document.createElement('p');
    this._gpusProblem.className = 'jp-ddp-GroupControls-problem';
    this._gpus.parentElement!.appendChild(this._gpusProblem);
    this._gpus.addEventListener('input', () => this._checkGpus());
    this._cpuRanks = this._field(
      trans.__('CPU ranks (where there is no GPU)'),
      'number',
      String(defaults.cpuRanks),
      'cpu-ranks'
    );
  }

  /** The start request the form describes; throws, naming the bad entry, on a bad GPU list. */
  request(): StartGroupRequest {
    return { gpus: parseGpus(this._gpus.value), cpuRanks: Number(this._cpuRanks.value) };
  }

  private _checkGpus(): void {
    let problem = '';
    try {
      parseGpus(this._gpus.value);
    } catch (err) {
      problem = (err as Error).message;
    }
    this._gpusProblem.textContent = problem;
    this._gpus.setAttribute('aria-invalid', String(problem !== ''));
  }

  private _field(label: string, type: string, value: string, name: string): HTMLInputElement {
    const row = document.createElement('label');
    row.className = 'jp-ddp-GroupControls-field';
    row.textContent = label;
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.type = type;
    input.value = value;
    input.name = name;
    if (type === 'number') {
      input.min = '1';
    }
    row.appendChild(input);
    this.node.appendChild(row);
    return input;
  }
}

/** The GPU field or setting as the API wants it: empty means every GPU; else parseGpuList's. */
export function parseGpus(text: string): GpuList {
  return text.trim() === '' ? 'all' : parseGpuList(text);
}

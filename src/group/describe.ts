/** What a start of the group will start, in words, for the dialogs that ask first. */
import type { TranslationBundle } from '@jupyterlab/translation';

import type { DeviceKind, StartGroupRequest } from '../protocol/api';

/** GPU indices as a person writes them: "0–3", "0, 2", "0–2, 5". */
export function indexRanges(indices: number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) {
      j++;
    }
    if (j - i >= 2) {
      parts.push(`${sorted[i]}–${sorted[j]}`);
    } else {
      parts.push(...sorted.slice(i, j + 1).map(String));
    }
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * "4 ranks on GPUs 0–3", "2 CPU ranks". `device` is what this machine's groups ran on so far
 * (null when none ran yet): the server starts CPU ranks only where it finds no GPU, and this tab
 * cannot see the GPUs before a group has run, so until then both are said.
 */
export function describeStart(
  request: Pick<StartGroupRequest, 'gpus' | 'cpuRanks'>,
  device: DeviceKind | null,
  trans: TranslationBundle
): string {
  const cpuRanks = request.cpuRanks ?? 2;
  const cpu = trans._n('%1 CPU rank', '%1 CPU ranks', cpuRanks);
  if (device === 'cpu') {
    return cpu;
  }
  const gpus = request.gpus ?? 'all';
  const onGpus =
    gpus === 'all'
      ? trans.__('a rank on every GPU')
      : trans._n('%1 rank on GPU %2', '%1 ranks on GPUs %2', gpus.length, indexRanges(gpus));
  return device === 'gpu' ? onGpus : trans.__('%1 (%2 where there is no GPU)', onGpus, cpu);
}

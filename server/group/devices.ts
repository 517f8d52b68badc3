import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import type { GpuList } from '../../src/protocol/gpu-list';

const run = promisify(execFile);

/** One GPU as nvidia-smi reports it. `index` is nvidia-smi's (PCI bus order). */
export interface Gpu {
  index: number;
  uuid: string;
  name: string;
  memoryMiB: number;
}

export interface ListGpusOptions {
  /** How long nvidia-smi may take, in ms (default 10 000). */
  timeoutMs?: number;
}

/**
 * The GPUs this server may use: nvidia-smi's list (the `nvidia-smi` first on PATH), narrowed and
 * ordered by the server's own CUDA_VISIBLE_DEVICES when it is set. [] when nvidia-smi is missing,
 * fails, times out or prints nothing usable.
 */
export async function listGpus(options: ListGpusOptions = {}): Promise<Gpu[]> {
  let stdout: string;
  try {
    ({ stdout } = await run(
      'nvidia-smi',
      ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits'],
      // env named explicitly: the PATH lookup then follows this module's process.env (jest's
      // sandbox gives each test file its own copy, which child_process would not otherwise see)
      { timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL', env: process.env }
    ));
  } catch {
    return [];
  }
  const gpus = parseNvidiaSmi(stdout);
  const visible = process.env.CUDA_VISIBLE_DEVICES;
  return visible === undefined ? gpus : applyCudaVisibleDevices(gpus, visible);
}

/** Lines of `index, uuid, name, memory.total` (csv, noheader, nounits); unparsable lines dropped. */
export function parseNvidiaSmi(text: string): Gpu[] {
  const gpus: Gpu[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.split(',').map(f => f.trim());
    if (fields.length < 4 || !/^\d+$/.test(fields[0])) {
      continue;
    }
    const memory = Number(fields[fields.length - 1]);
    gpus.push({
      index: Number(fields[0]),
      uuid: fields[1],
      // a name with a comma in it spans several fields
      name: fields.slice(2, -1).join(', '),
      memoryMiB: Number.isFinite(memory) ? memory : 0
    });
  }
  return gpus;
}

/**
 * The GPUs CUDA would expose under this CUDA_VISIBLE_DEVICES, in its order: entries are indices or
 * GPU UUIDs (a unique prefix such as `GPU-8932f937` is enough). Like CUDA, enumeration stops at
 * the first entry that names no GPU (so '' and '-1' hide them all) or repeats one.
 */
export function applyCudaVisibleDevices(gpus: Gpu[], visible: string): Gpu[] {
  const chosen: Gpu[] = [];
  for (const raw of visible.split(',')) {
    const entry = raw.trim();
    let gpu: Gpu | undefined;
    if (/^\d+$/.test(entry)) {
      gpu = gpus.find(g => g.index === Number(entry));
    } else if (entry) {
      const matches = gpus.filter(g => g.uuid.toLowerCase().startsWith(entry.toLowerCase()));
      gpu = matches.length === 1 ? matches[0] : undefined;
    }
    if (!gpu || chosen.includes(gpu)) {
      break;
    }
    chosen.push(gpu);
  }
  return chosen;
}

function indexList(gpus: Gpu[]): string {
  return gpus.map(g => g.index).join(', ');
}

/**
 * The GPUs for a group, one per rank in rank order. 'all' takes every available GPU, or the first
 * `ranks` of them; a list takes exactly those GPUs and, with `ranks`, must have `ranks` entries.
 * Throws an Error saying what is wrong and which GPUs exist.
 */
export function chooseGpus(available: Gpu[], request: GpuList, ranks?: number): Gpu[] {
  if (ranks !== undefined && (!Number.isInteger(ranks) || ranks < 1)) {
    throw new Error(`Invalid number of ranks: ${ranks} (expected a positive integer)`);
  }
  const have = available.length
    ? `${available.length} GPU${available.length === 1 ? '' : 's'} (${indexList(available)})`
    : 'no GPUs';
  if (request === 'all') {
    if (available.length === 0) {
      throw new Error('No GPUs are available');
    }
    if (ranks === undefined) {
      return [...available];
    }
    if (ranks > available.length) {
      throw new Error(
        `${ranks} ranks requested but only ${have} ${available.length === 1 ? 'is' : 'are'} available`
      );
    }
    return available.slice(0, ranks);
  }
  if (request.length === 0) {
    throw new Error('No GPUs requested');
  }
  const chosen: Gpu[] = [];
  for (const index of request) {
    const gpu = available.find(g => g.index === index);
    if (!gpu) {
      throw new Error(
        `GPU ${index} is not available; ` +
          (available.length ? `available GPUs: ${indexList(available)}` : 'no GPUs are available')
      );
    }
    if (chosen.includes(gpu)) {
      throw new Error(`GPU ${index} is requested twice`);
    }
    chosen.push(gpu);
  }
  if (ranks !== undefined && ranks !== chosen.length) {
    throw new Error(
      `${ranks} ranks requested but ${chosen.length} GPU${chosen.length === 1 ? '' : 's'} ` +
        `(${indexList(chosen)}) listed: give one GPU per rank`
    );
  }
  return chosen;
}

/**
 * The CUDA_VISIBLE_DEVICES value that shows a process this GPU. nvidia-smi's index; note CUDA
 * numbers devices in nvidia-smi's (PCI bus) order only with CUDA_DEVICE_ORDER=PCI_BUS_ID, so set
 * that too, or switch this to `gpu.uuid`, which needs neither.
 */
export function cudaVisibleDevices(gpu: Gpu): string {
  return String(gpu.index);
}

/**
 * The one reader of a GPU list as a person writes it ("all", "0,2"): the `--gpus` flag of
 * `jupyter-ddp run`, `%makedip -g`, and the group dialog all read it here. Pure logic: loads in
 * both the browser and Node.
 */

/** Every GPU, or these nvidia-smi indices in this order (`StartGroupRequest.gpus`). */
export type GpuList = 'all' | number[];

/** A GPU list that is not one; `problem` names the entry at fault. */
export class GpuListError extends Error {
  constructor(
    readonly text: string,
    readonly problem: string
  ) {
    super(`Invalid GPU list '${text}': ${problem}`);
    this.name = 'GpuListError';
  }
}

/** 'all' (any case) or a comma list of distinct GPU indices such as '0,2'; else a GpuListError. */
export function parseGpuList(text: string): GpuList {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'all') {
    return 'all';
  }
  if (!trimmed) {
    throw new GpuListError(text, "expected 'all' or GPU indices such as '0,2'");
  }
  const indices: number[] = [];
  for (const raw of trimmed.split(',')) {
    const entry = raw.trim();
    if (!/^\d+$/.test(entry)) {
      throw new GpuListError(
        text,
        `'${entry}' is not a GPU index (expected 'all' or non-negative integers such as '0,2')`
      );
    }
    const index = Number(entry);
    if (indices.includes(index)) {
      throw new GpuListError(text, `GPU ${index} is listed twice`);
    }
    indices.push(index);
  }
  return indices;
}

import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CallResult, PullResult, PushResult } from '../../src/protocol/api';
import { Kernel } from '../kernel/kernel';
import { BadRequestError, NotFoundError } from './errors';
import { callRank } from './rank-calls';

/** Transfer files are made by jupyter_ddp_values.py: `jupyter-ddp-*`, private, in shared memory or tmp. */
const TRANSFER_FILE = /^jupyter-ddp-[\w.-]+$/;

/** A rank's kernel, by rank. */
export type RankKernels = ReadonlyMap<number, Kernel>;

/** A path the client gives must be one of our transfer files, and exist. */
export function checkTransferFile(file: string): void {
  if (!path.isAbsolute(file) || !TRANSFER_FILE.test(path.basename(file))) {
    throw new BadRequestError(`${file} is not a jupyter-ddp transfer file`, 'file');
  }
  if (!fs.statSync(file, { throwIfNoEntry: false })?.isFile()) {
    throw new BadRequestError(`no transfer file at ${file}`, 'file');
  }
}

/**
 * Load a transfer file into the namespace of every given rank, or of none: all stage it first,
 * and only if every one succeeded do they take it.
 */
export async function push(kernels: RankKernels, file: string): Promise<PushResult> {
  checkTransferFile(file);
  const txn = randomUUID().replace(/-/g, '');
  const ranks = [...kernels.keys()];
  const staged = await Promise.allSettled(
    [...kernels.values()].map(kernel => callRank(kernel, 'stage', { file, txn }))
  );
  const failures: string[] = [];
  let names: string[] = [];
  staged.forEach((s, i) => {
    if (s.status === 'rejected') {
      failures.push(`rank ${ranks[i]}: ${(s.reason as Error).message}`);
    } else if ('error' in s.value) {
      failures.push(`rank ${ranks[i]}: ${s.value.error}`);
    } else if (i === 0) {
      names = s.value.names;
    }
  });
  const verb = failures.length === 0 ? 'commit' : 'discard';
  await Promise.allSettled([...kernels.values()].map(kernel => callRank(kernel, verb, { txn })));
  if (failures.length > 0) {
    throw new BadRequestError(`push failed, no rank was changed: ${failures.join('; ')}`, 'file');
  }
  return { ranks, names };
}

/** Write the named values of one rank to a new transfer file; the caller reads and deletes it. */
export async function pull(kernel: Kernel, rank: number, names: string[]): Promise<PullResult> {
  const answer = await callRank(kernel, 'pull', { names });
  if ('error' in answer) {
    throw answer.missing
      ? new NotFoundError(answer.error)
      : new BadRequestError(answer.error, 'names');
  }
  const { file, unwrapped } = answer;
  return { rank, file, ...(unwrapped.length > 0 ? { unwrapped } : {}) };
}

/**
 * Run the (fn, args, kwargs) of a transfer file on every given rank at once. Each rank's result is
 * a transfer file of its own (the caller reads and deletes them), or its error.
 */
export async function call(kernels: RankKernels, file: string): Promise<CallResult> {
  checkTransferFile(file);
  const results = await Promise.all(
    [...kernels].map(async ([rank, kernel]): Promise<CallResult['results'][number]> => {
      try {
        return { rank, ...(await callRank(kernel, 'run', { file })) };
      } catch (err) {
        return { rank, error: (err as Error).message, output: '' };
      }
    })
  );
  return { results };
}

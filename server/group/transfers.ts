import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CallResult, PullResult, PushResult } from '../../src/protocol/api';
import { Kernel } from '../kernel/kernel';
import { PACKAGE_ROOT } from '../package-root';
import { BadRequestError, NotFoundError } from './errors';

/**
 * Python defined silently in every rank: start-up helpers and the rank side of push, pull and
 * ddp.run. Sent again with every transfer, so that a `%reset` on a rank cannot break them.
 */
export const BOOTSTRAP = [
  'rank_bootstrap.py',
  'rank_tuning.py',
  'ddp_values.py',
  'rank_transfer.py'
]
  .map(file => fs.readFileSync(path.join(PACKAGE_ROOT, 'server', 'py', file), 'utf8'))
  .join('\n\n');

/** Transfer files are made by ddp_values.py: `jupyter-ddp-*`, private, in shared memory or tmp. */
const TRANSFER_FILE = /^jupyter-ddp-[\w.-]+$/;

/** A rank's kernel, by rank. */
export type RankKernels = ReadonlyMap<number, Kernel>;

/** Run a bootstrap function on one rank and decode its base64-JSON answer. */
export async function callRank(
  kernel: Kernel,
  expression: string
): Promise<Record<string, unknown>> {
  const value = await kernel.evaluate(BOOTSTRAP, expression);
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, unknown>;
}

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
  const arg = `${JSON.stringify(file)}, ${JSON.stringify(txn)}`;
  const staged = await Promise.allSettled(
    [...kernels.values()].map(kernel => callRank(kernel, `_ddp_stage(${arg})`))
  );
  const failures = staged.flatMap((s, i) => {
    const rank = [...kernels.keys()][i];
    if (s.status === 'rejected') {
      return [`rank ${rank}: ${(s.reason as Error).message}`];
    }
    return typeof s.value.error === 'string' ? [`rank ${rank}: ${s.value.error}`] : [];
  });
  const verb = failures.length === 0 ? '_ddp_commit' : '_ddp_discard';
  await Promise.allSettled(
    [...kernels.values()].map(kernel => callRank(kernel, `${verb}(${JSON.stringify(txn)})`))
  );
  if (failures.length > 0) {
    throw new BadRequestError(`push failed, no rank was changed: ${failures.join('; ')}`, 'file');
  }
  const first = staged[0] as PromiseFulfilledResult<{ names?: string[] }>;
  return { ranks: [...kernels.keys()], names: first.value.names ?? [] };
}

/** Write the named values of one rank to a new transfer file; the caller reads and deletes it. */
export async function pull(kernel: Kernel, rank: number, names: string[]): Promise<PullResult> {
  const answer = await callRank(kernel, `_ddp_dump_names(${JSON.stringify(names)})`);
  if (typeof answer.error === 'string') {
    throw Array.isArray(answer.missing)
      ? new NotFoundError(answer.error)
      : new BadRequestError(answer.error, 'names');
  }
  const unwrapped = Array.isArray(answer.unwrapped) ? answer.unwrapped.map(String) : [];
  return { rank, file: String(answer.file), ...(unwrapped.length > 0 ? { unwrapped } : {}) };
}

/**
 * Run the (fn, args, kwargs) of a transfer file on every given rank at once. Each rank's result is
 * a transfer file of its own (the caller reads and deletes them), or its error.
 */
export async function call(kernels: RankKernels, file: string): Promise<CallResult> {
  checkTransferFile(file);
  const results = await Promise.all(
    [...kernels].map(async ([rank, kernel]) => {
      try {
        const answer = await callRank(kernel, `_ddp_call(${JSON.stringify(file)})`);
        return { rank, ...answer } as CallResult['results'][number];
      } catch (err) {
        return { rank, error: (err as Error).message, output: '' };
      }
    })
  );
  return { results };
}

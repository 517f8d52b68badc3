import { ChildProcess } from 'node:child_process';

/**
 * Helpers for children spawned `detached` (each leads its own process group), so that one signal
 * reaches the child and everything it started.
 */

/** Signal a detached child's whole process group; false when it is already gone. */
export function signalGroup(child: ChildProcess, signal: NodeJS.Signals): boolean {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return false;
  }
  try {
    process.kill(-child.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise(resolve => child.once('exit', () => resolve()));
}

/**
 * How long a leader told to end now (SIGUSR1) may take: a guard (server/py/guard.py) then kills
 * every process below it, wherever its group or session, and removes its files. It must not be
 * killed meanwhile, or what left its group would live on.
 */
const LEADER_EXIT_MS = 10_000;

/**
 * SIGTERM the group; if its leader has not exited after `graceMs`, tell it to end everything now
 * (SIGUSR1: a guard's descendants all get SIGKILL), and SIGKILL the group only as a last resort.
 */
export async function terminateGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (!signalGroup(child, 'SIGTERM')) {
    return;
  }
  if (!(await exitedWithin(child, graceMs))) {
    child.kill('SIGUSR1');
    await exitedWithin(child, LEADER_EXIT_MS);
  }
  // Kernels and helpers that share the group but outlived the leader go too.
  killGroup(child);
  await exited(child);
}

/** Whether the child exits within `ms`. */
async function exitedWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>(resolve => (timer = setTimeout(() => resolve(false), ms)));
  const result = await Promise.race([exited(child).then(() => true), late]);
  clearTimeout(timer);
  return result;
}

/**
 * SIGKILL whatever is left in a detached child's process group, the child exited or not. Call it
 * while the child runs or just as it exits: the group's id is its pid, which is free again for
 * reuse once the child has exited and the group is empty.
 */
export function killGroup(child: ChildProcess): void {
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is empty
    }
  }
}

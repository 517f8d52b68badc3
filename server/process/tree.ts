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

/** SIGTERM the group, then SIGKILL it if it has not exited after `graceMs`. */
export async function terminateGroup(child: ChildProcess, graceMs: number): Promise<void> {
  if (!signalGroup(child, 'SIGTERM')) {
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const killLater = new Promise<void>(resolve => {
    timer = setTimeout(() => {
      signalGroup(child, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited(child), killLater]);
  clearTimeout(timer);
  // Kernels and helpers that share the group but outlived the leader go too.
  killGroup(child);
  await exited(child);
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

import * as path from 'node:path';

import { PACKAGE_ROOT } from '../package-root';

const GUARD = path.join(PACKAGE_ROOT, 'server', 'py', 'guard.py');

/**
 * argv that runs `command` under server/py/guard.py. When the command exits, this server dies or
 * the guard gets SIGTERM, the guard ends everything the command started, even processes that
 * left its process group or session (SIGTERM, then SIGKILL after `graceSeconds`; SIGUSR1 skips the
 * grace), removes `removeOnExit` and exits as the command did. Spawn the result `detached` so the
 * guard leads a process group of its own.
 */
export function guarded(
  python: string,
  command: string[],
  graceSeconds: number,
  /** Files the guard removes once the command has ended (connection files with keys). */
  removeOnExit: string[] = [],
  /**
   * End only the command's own process group, adopting nothing (the Jupyter server: what users
   * start in sessions of their own from its terminals outlives it, as under plain `jupyter lab`).
   */
  groupOnly = false
): [string, string[]] {
  const remove = removeOnExit.flatMap(file => ['--remove', file]);
  const scope = groupOnly ? ['--group-only'] : [];
  return [
    python,
    [GUARD, String(process.pid), String(graceSeconds), ...scope, ...remove, '--', ...command]
  ];
}

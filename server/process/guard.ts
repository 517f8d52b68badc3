import * as path from 'node:path';

import { PACKAGE_ROOT } from '../package-root';

const GUARD = path.join(PACKAGE_ROOT, 'server', 'py', 'guard.py');

/**
 * argv that runs `command` under server/py/guard.py: if this server dies, the guard ends the
 * command (SIGTERM, then SIGKILL of its whole process group after `graceSeconds`). Spawn the result
 * `detached` so the guard leads a process group of its own.
 */
export function guarded(
  python: string,
  command: string[],
  graceSeconds: number
): [string, string[]] {
  return [python, [GUARD, String(process.pid), String(graceSeconds), ...command]];
}

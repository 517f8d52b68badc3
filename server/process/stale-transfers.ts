import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Transfer files are named by server/py/jupyter_ddp_values.py `new_file`:
 * `jupyter-ddp-{tag}-{writer pid}-{16 hex digits}`, in /dev/shm, else the temporary folder.
 */
const TRANSFER_NAME = /^jupyter-ddp-[a-z]+-(\d+)-[0-9a-f]{16}$/;
const TRANSFER_DIRS = ['/dev/shm', os.tmpdir()];

/** Whether a process with this pid exists (another user's counts: EPERM). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Remove the transfer files of this user whose writer is dead (a rank killed mid-pull, a notebook
 * kernel killed mid-push): nobody will read or delete them, and in /dev/shm they hold memory.
 * A file whose writer still runs is kept: it may be in use. Gives how many were removed.
 */
export function removeStaleTransferFiles(): number {
  const uid = process.getuid?.();
  let removed = 0;
  for (const dir of new Set(TRANSFER_DIRS)) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue; // no such folder here
    }
    for (const name of names) {
      const writer = TRANSFER_NAME.exec(name)?.[1];
      if (writer === undefined || alive(Number(writer))) {
        continue;
      }
      const file = path.join(dir, name);
      try {
        const stat = fs.lstatSync(file);
        if (stat.isFile() && (uid === undefined || stat.uid === uid)) {
          fs.unlinkSync(file);
          removed++;
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return removed;
}

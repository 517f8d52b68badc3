import * as os from 'node:os';
import * as path from 'node:path';

/** The user's Jupyter data directory, by jupyter_core's rules (JUPYTER_DATA_DIR, then per OS). */
export function userDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) {
    return process.env.JUPYTER_DATA_DIR;
  }
  const home = os.homedir();
  if (process.platform === 'darwin') {
    return path.join(home, 'Library', 'Jupyter');
  }
  if (process.platform === 'win32') {
    return process.env.APPDATA
      ? path.join(process.env.APPDATA, 'jupyter')
      : path.join(home, '.jupyter', 'data');
  }
  return path.join(process.env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { userDataDir } from '../jupyter/paths';
import { EXTENSION_NAME, LABEXTENSIONS_DIR } from '../package-root';

const run = promisify(execFile);

/**
 * `jupyter-ddp install` / `uninstall`: put the prebuilt extension into (or take it out of) the
 * user's Jupyter data directory, where any JupyterLab >= 4 finds it without a rebuild.
 */
export async function installExtension(dataDir?: string): Promise<string> {
  const source = path.join(LABEXTENSIONS_DIR, EXTENSION_NAME);
  if (!fs.existsSync(path.join(source, 'package.json'))) {
    throw new Error(`the prebuilt extension is missing at ${source}; run \`npm run build\` first`);
  }
  const target = path.join(dataDir ?? (await jupyterDataDir()), 'labextensions', EXTENSION_NAME);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(source, target, { recursive: true });
  return target;
}

/** Returns the removed folder, or null when the extension was not installed there. */
export async function uninstallExtension(dataDir?: string): Promise<string | null> {
  const target = path.join(dataDir ?? (await jupyterDataDir()), 'labextensions', EXTENSION_NAME);
  if (!fs.existsSync(target)) {
    return null;
  }
  fs.rmSync(target, { recursive: true, force: true });
  return target;
}

/** Jupyter's own answer when `jupyter` is on PATH, else the same rules jupyter_core applies. */
async function jupyterDataDir(): Promise<string> {
  try {
    const { stdout } = await run('jupyter', ['--data-dir'], { timeout: 30_000 });
    if (stdout.trim()) {
      return stdout.trim();
    }
  } catch {
    // no jupyter command: fall through
  }
  return userDataDir();
}

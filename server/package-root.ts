import * as fs from 'node:fs';
import * as path from 'node:path';

/** Root folder of the installed jupyterlab-ddp package (works from server/ and compiled server-lib/). */
export const PACKAGE_ROOT: string = findRoot(__dirname);

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && readJson(manifest).name === 'jupyterlab-ddp') {
      return dir;
    }
    if (path.dirname(dir) === dir) {
      throw new Error(`jupyterlab-ddp's package.json not found above ${start}`);
    }
  }
}

function readJson(file: string): { name?: string; version?: string } {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

export const PACKAGE_VERSION: string =
  readJson(path.join(PACKAGE_ROOT, 'package.json')).version ?? '0.0.0';

/** Where the prebuilt labextension lands; its parent is a labextensions path entry. */
export const LABEXTENSIONS_DIR = path.join(PACKAGE_ROOT, 'build', 'labextensions');
export const EXTENSION_NAME = 'jupyterlab-ddp';

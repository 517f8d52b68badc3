// A venv with jupyterlab_ddp installed from its wheel, as a user installs it on Debian 12
// (`--system-site-packages`: Jupyter, torch and ipykernel are Debian's). The wheel is built once
// per scratch folder, under a lock: several servers of one test run share it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const PYTHON = '/usr/bin/python3';

function run(command, args) {
  execFileSync(command, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The wheel of this checkout, built into `scratch`/wheel once. */
function wheel(scratch) {
  const dir = path.join(scratch, 'wheel');
  const lock = `${dir}.lock`;
  fs.mkdirSync(scratch, { recursive: true });
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200); // another one builds it
    }
  }
  try {
    const built = () => fs.existsSync(dir) && fs.readdirSync(dir).find(f => f.endsWith('.whl'));
    if (!built()) {
      run(PYTHON, [
        '-m',
        'pip',
        'wheel',
        '--no-build-isolation',
        '--no-deps',
        '--no-index',
        '-w',
        dir,
        '.'
      ]);
    }
    return path.join(dir, built());
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** A new venv at `dir` with the wheel installed; gives its python. */
export function venvWithPackage(scratch, dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  run(PYTHON, ['-m', 'venv', '--system-site-packages', dir]);
  const python = path.join(dir, 'bin', 'python');
  run(python, ['-m', 'pip', 'install', '--no-index', '--no-deps', '--quiet', wheel(scratch)]);
  return python;
}

// `node venv.mjs SCRATCH DIR`: make the venv and print its python (for the jest tests).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${venvWithPackage(process.argv[2], process.argv[3])}\n`);
}

// The UI tests' plain `jupyter server` (Debian's jupyter_server 1.23) with jupyterlab_ddp installed
// in a venv, nothing in front of it: the extension runs the DDP server, the bundled lab serves /lab.
// Usage: node jupyter-server.mjs SCRATCH PORT NOTEBOOK_DIR (the token comes from JUPYTER_TOKEN).
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { stopWithUs } from './stop-once.mjs';
import { venvWithPackage } from './venv.mjs';

const [scratch, port, notebookDir] = process.argv.slice(2);
const python = venvWithPackage(scratch, path.join(scratch, 'venv-server'));
const server = spawn(
  python,
  [
    '-m',
    'jupyter_server',
    '--no-browser',
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${notebookDir}`,
    ...(process.getuid() === 0 ? ['--allow-root'] : [])
  ],
  {
    stdio: 'inherit',
    // not from the checkout: Python would import jupyterlab_ddp from the current folder
    cwd: notebookDir,
    detached: true // see stopWithUs
  }
);
// Jupyter must get the signal to end the DDP server and its ranks.
stopWithUs(server);

import { ChildProcess, execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { freeLoopbackPort } from '../net';
import { LABEXTENSIONS_DIR, PACKAGE_ROOT } from '../package-root';
import { guarded } from '../process/guard';
import { terminateGroup } from '../process/tree';
import { findPython } from './python';

const run = promisify(execFile);

/**
 * The Jupyter server that serves JupyterLab behind our proxy, on a private loopback port: the
 * user's own `jupyter lab` when JupyterLab >= 4 is installed, otherwise the bundled lab/ app on
 * Debian's jupyterlab_server.
 */
export type BackendKind = 'jupyterlab' | 'bundled';

export interface BackendOptions {
  token: string;
  rootDir: string;
  /** Let the Jupyter server accept Host headers that are not loopback (public --ip). */
  allowRemoteAccess: boolean;
  /** Forwarded to our stderr, prefixed, when true; otherwise kept only for error reports. */
  verbose: boolean;
}

export interface BackendCommand {
  kind: BackendKind;
  command: string;
  args: string[];
}

const STDERR_TAIL_LINES = 40;
const READY_TIMEOUT_MS = 90_000;

export class JupyterBackend {
  readonly url: string;
  private _stderrTail: string[] = [];

  private constructor(
    readonly kind: BackendKind,
    readonly port: number,
    /** A Python 3 for helper scripts (the process guard). */
    readonly python: string,
    /** Jupyter's runtime folder, ours alone (0700): see start. */
    readonly runtimeDir: string,
    private _child: ChildProcess
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Start the server and resolve once it answers authenticated API requests. */
  static async start(options: BackendOptions): Promise<JupyterBackend> {
    const port = await freeLoopbackPort();
    const { kind, command, args } = await chooseBackend();
    const python = await findPython([]);
    if (!python) {
      throw new Error(
        'No Python 3 found (looked for /usr/bin/python3, python3, python); set JUPYTER_DDP_PYTHON'
      );
    }
    const serverArgs = [
      ...args,
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${options.rootDir}`,
      ...(options.allowRemoteAccess ? ['--ServerApp.allow_remote_access=True'] : []),
      ...(process.getuid?.() === 0 ? ['--ServerApp.allow_root=True'] : [])
    ];
    // Jupyter writes the token into jpserver-*-open.html and jpserver-*.json, and its kernels'
    // keys into their connection files, in its runtime folder, some of them readable by anyone:
    // a folder of our own that no other user may enter (mkdtemp makes it 0700) keeps them ours.
    const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'jupyter-ddp-runtime-'));
    // The guard ends the Jupyter server (which then ends its kernels) if we die without cleaning up.
    const [cmd, argv] = guarded(python, [command, ...serverArgs], 10, [], true);
    const child = spawn(cmd, argv, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        JUPYTER_TOKEN: options.token,
        JUPYTER_RUNTIME_DIR: runtimeDir,
        // jupyterlab_ddp, where pip installed it, then leaves /ddp/ and /lab to us
        JUPYTER_DDP_FRONTED: '1',
        PYDEVD_DISABLE_FILE_VALIDATION: '1'
      }
    });
    const backend = new JupyterBackend(kind, port, python, runtimeDir, child);
    backend._captureOutput(options.verbose);
    await backend._waitReady(options.token);
    return backend;
  }

  /** Calls back once if the server exits; the message names the cause and its last output. */
  onExit(listener: (message: string) => void): void {
    this._child.once('exit', (code, signal) =>
      listener(
        `Jupyter server exited (${signal ?? `code ${code}`})\n${this._stderrTail.join('\n')}`
      )
    );
  }

  async stop(): Promise<void> {
    // Jupyter shuts its kernels down on SIGTERM; give it time before forcing.
    await terminateGroup(this._child, 10_000);
    fs.rmSync(this.runtimeDir, { recursive: true, force: true });
  }

  private _captureOutput(verbose: boolean): void {
    const keep = (chunk: Buffer) => {
      const text = chunk.toString();
      if (verbose) {
        process.stderr.write(text.replace(/^/gm, '[jupyter] '));
      }
      this._stderrTail.push(...text.split('\n').filter(Boolean));
      this._stderrTail = this._stderrTail.slice(-STDERR_TAIL_LINES);
    };
    this._child.stdout?.on('data', keep);
    this._child.stderr?.on('data', keep);
  }

  private async _waitReady(token: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let exit: string | null = null;
    this._child.once('exit', (code, signal) => (exit = signal ?? `code ${code}`));
    while (Date.now() < deadline) {
      if (exit) {
        throw new Error(
          `The Jupyter server (${this.kind}) exited during start-up (${exit}):\n${this._stderrTail.join('\n')}`
        );
      }
      try {
        const res = await fetch(`${this.url}/api/status`, {
          headers: { Authorization: `token ${token}` }
        });
        if (res.ok) {
          return;
        }
      } catch {
        // not listening yet
      }
      await new Promise(r => setTimeout(r, 200));
    }
    await this.stop();
    throw new Error(
      `The Jupyter server did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${this._stderrTail.join('\n')}`
    );
  }
}

/** Pick the user's JupyterLab 4 when present, else the bundled lab/; JUPYTER_DDP_BACKEND forces one. */
export async function chooseBackend(): Promise<BackendCommand> {
  const forced = process.env.JUPYTER_DDP_BACKEND;
  if (forced && forced !== 'jupyterlab' && forced !== 'bundled') {
    throw new Error(`JUPYTER_DDP_BACKEND must be "jupyterlab" or "bundled", not "${forced}"`);
  }
  if (forced !== 'bundled') {
    const version = await jupyterLabVersion();
    if (version !== null && version >= 4) {
      return {
        kind: 'jupyterlab',
        command: 'jupyter',
        args: ['lab', `--LabApp.extra_labextensions_path=${LABEXTENSIONS_DIR}`]
      };
    }
    if (forced === 'jupyterlab') {
      throw new Error('JUPYTER_DDP_BACKEND=jupyterlab but no `jupyter lab` >= 4 is on PATH');
    }
  }
  const python = await findPython(['jupyterlab_server', 'jupyter_server']);
  if (!python) {
    throw new Error(
      'No JupyterLab >= 4 (`pip install jupyterlab`) and no Python with jupyterlab_server ' +
        '(Debian: `apt-get install python3-jupyterlab-server`) was found. Set JUPYTER_DDP_PYTHON to choose a Python.'
    );
  }
  return {
    kind: 'bundled',
    command: python,
    args: [
      path.join(PACKAGE_ROOT, 'lab', 'app.py'),
      `--LabServerApp.extra_labextensions_path=${LABEXTENSIONS_DIR}`
    ]
  };
}

/** Major version of `jupyter lab` on PATH, or null when there is none. */
async function jupyterLabVersion(): Promise<number | null> {
  try {
    const { stdout } = await run('jupyter', ['lab', '--version'], { timeout: 30_000 });
    const match = /^(\d+)\./m.exec(stdout.trim());
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freeLoopbackPort } from '../net';
import { terminateGroup } from '../process/tree';

/** A real, plain jupyter_server (Debian's) on a loopback port, for tests. */
export interface TestJupyter {
  url: string;
  token: string;
  rootDir: string;
  /** Its runtime folder (connection files, and the jupyterlab_ddp extension's folder). */
  runtimeDir: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startTestJupyter(
  token = 'test-token-123',
  /** A venv's python, to run the jupyter_server that has what that venv installed. */
  python = '/usr/bin/python3'
): Promise<TestJupyter> {
  const port = await freeLoopbackPort();
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-test-root-'));
  // Its token files are its own (mkdtemp makes the folder 0700), and go with it.
  const runtimeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-test-runtime-'));
  const child: ChildProcess = spawn(
    python,
    [
      '-m',
      'jupyter_server',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False',
      `--ServerApp.root_dir=${rootDir}`,
      ...(process.getuid?.() === 0 ? ['--ServerApp.allow_root=True'] : [])
    ],
    {
      detached: true,
      stdio: 'ignore',
      cwd: rootDir, // Python imports from the current folder first: never the checkout's packages
      env: { ...process.env, JUPYTER_TOKEN: token, JUPYTER_RUNTIME_DIR: runtimeDir }
    }
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/api/status?token=${token}`);
      if (res.ok) {
        break;
      }
    } catch {
      // still starting
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      await terminateGroup(child, 1000);
      throw new Error('jupyter_server did not start');
    }
    await new Promise(r => setTimeout(r, 200));
  }
  return {
    url,
    token,
    rootDir,
    runtimeDir,
    pid: child.pid as number,
    stop: async () => {
      await terminateGroup(child, 5000);
      fs.rmSync(rootDir, { recursive: true, force: true });
      fs.rmSync(runtimeDir, { recursive: true, force: true });
    }
  };
}

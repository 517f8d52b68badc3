import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { freeLoopbackPort } from '../../net';
import { PACKAGE_ROOT } from '../../package-root';
import { GroupInfo } from '../../../src/protocol/api';
import { eventually, isRunning, pidsWithArg } from '../../__tests__/processes';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'jupyter-ddp.js');

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('jupyter-ddp command line', () => {
  it.each([
    [['lab', '--port', 'abc'], /"abc" is not a port number/],
    [['lab', '--port', '70000'], /"70000" is not a port number/],
    [['lab', '--notebook-dir', '/no/such/dir'], /"\/no\/such\/dir" is not an existing directory/],
    [['lab', '--bogus'], /unknown option '--bogus'/],
    [['frobnicate'], /unknown command 'frobnicate'/]
  ])('rejects %j with a clear message and a non-zero exit', (args, message) => {
    const result = cli(args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('installs the prebuilt extension into a Jupyter data dir and uninstalls it', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-data-'));
    try {
      const installed = cli(['install', '--data-dir', dataDir]);
      expect(installed.status).toBe(0);
      const manifest = path.join(dataDir, 'labextensions', 'jupyterlab-ddp', 'package.json');
      const meta = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      expect(meta.jupyterlab._build.load).toMatch(/^static\/remoteEntry\./);
      expect(
        fs.existsSync(path.join(dataDir, 'labextensions', 'jupyterlab-ddp', 'install.json'))
      ).toBe(true);

      expect(cli(['uninstall', '--data-dir', dataDir]).status).toBe(0);
      expect(fs.existsSync(path.dirname(manifest))).toBe(false);
      expect(cli(['uninstall', '--data-dir', dataDir]).stdout).toMatch(/not installed/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('jupyter-ddp lab', () => {
  let notebookDir: string;

  beforeEach(() => {
    notebookDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-cli-'));
  });

  afterEach(() => {
    for (const pid of pidsWithArg(notebookDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // it ended meanwhile
      }
    }
    fs.rmSync(notebookDir, { recursive: true, force: true });
  });

  async function startLab(): Promise<{ child: ChildProcess; url: URL }> {
    const port = await freeLoopbackPort();
    const child = spawn(
      process.execPath,
      [BIN, 'lab', '--no-browser', '--port', String(port), '--notebook-dir', notebookDir],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, JUPYTER_TOKEN: '' }
      }
    );
    let out = '';
    const url = await new Promise<URL>((resolve, reject) => {
      child.stdout?.on('data', chunk => {
        out += chunk;
        const match = /(http:\/\/\S+\/lab\?token=\S+)/.exec(out);
        if (match) {
          resolve(new URL(match[1]));
        }
      });
      child.stderr?.on('data', chunk => (out += chunk));
      child.once('exit', code => reject(new Error(`jupyter-ddp lab exited (${code}):\n${out}`)));
    });
    return { child, url };
  }

  it('prints one URL with a fresh token that opens JupyterLab and the DDP API', async () => {
    const { child, url } = await startLab();
    try {
      const token = url.searchParams.get('token') ?? '';
      expect(token).toMatch(/^[0-9a-f]{48}$/);
      const origin = url.origin;
      expect((await fetch(`${origin}/ddp/api/health`)).status).toBe(401);
      expect((await fetch(`${origin}/ddp/api/health?token=${token}`)).status).toBe(200);
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('jupyter-config-data');
    } finally {
      child.kill('SIGINT');
    }
  });

  it('stops everything it started on Ctrl+C', async () => {
    const { child } = await startLab();
    expect(pidsWithArg(notebookDir).length).toBeGreaterThan(0);
    const exit = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(await eventually(() => pidsWithArg(notebookDir).length === 0, 5_000)).toBe(true);
  });

  it('leaves no Jupyter server and no rank behind when it is killed outright', async () => {
    const { child, url } = await startLab();
    const token = url.searchParams.get('token');
    const started = await fetch(`${url.origin}/ddp/api/groups/default?token=${token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ranks: 2 })
    });
    expect(started.status).toBe(200);
    const ranks = ((await started.json()) as GroupInfo).ranks.map(r => r.pid!);
    expect(ranks.every(isRunning)).toBe(true);

    child.kill('SIGKILL');
    expect(
      await eventually(() => pidsWithArg(notebookDir).length === 0 && !ranks.some(isRunning), 5_000)
    ).toBe(true);
  });
});

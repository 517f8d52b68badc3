import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WebSocket } from 'ws';

import { HelloMessage } from '../../../src/protocol/api';
import { PACKAGE_ROOT } from '../../package-root';
import { startTestJupyter, TestJupyter } from '../../__tests__/jupyter-server';
import { eventually, isRunning, pidsWithArg } from '../../__tests__/processes';

/**
 * The Python package jupyterlab_ddp as a user installs it on Debian 12 (a venv with
 * --system-site-packages, from its wheel and from the source folder), under a real plain
 * jupyter_server (Debian's 1.23) with nothing in front of it.
 */
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-package-'));
const TOKEN = 'package-test-token';
const GROUP = '/ddp/api/groups/default';

/** Runs a command to its end; gives what it wrote (Jupyter's commands log to stderr). */
function sh(command: string, args: string[], cwd = scratch): string {
  const { status, stdout, stderr } = spawnSync(command, args, { cwd, encoding: 'utf8' });
  if (status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited with ${status}: ${stderr}`);
  }
  return stdout + stderr;
}

/** A venv with the package's wheel installed (ui-tests/servers/venv.mjs, as the UI tests make it). */
function wheelVenv(name: string): string {
  const script = path.join(PACKAGE_ROOT, 'ui-tests', 'servers', 'venv.mjs');
  return sh('node', [script, scratch, path.join(scratch, name)]).trim();
}

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

describe('installing', () => {
  it('`pip install --no-build-isolation .` into a system-site-packages venv enables both extensions', () => {
    const venv = path.join(scratch, 'venv-source');
    sh('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', venv]);
    const python = path.join(venv, 'bin', 'python');
    sh(python, [
      '-m',
      'pip',
      'install',
      '--no-build-isolation',
      '--no-index',
      '--quiet',
      PACKAGE_ROOT
    ]);

    const list = sh(python, ['-m', 'jupyter_server', 'extension', 'list']);
    expect(list).toMatch(new RegExp(`Config dir: ${venv}/etc/jupyter\\s+jupyterlab_ddp .*enabled`));
    expect(list).toMatch(/jupyterlab_ddp 0\.1\.0 .*OK/);
    // what `jupyter labextension list` reads, where pip's JupyterLab provides that command
    const found = sh(python, [
      '-c',
      'import json; from jupyter_core.paths import jupyter_path; ' +
        'from jupyterlab_server.config import get_federated_extensions; ' +
        'print(json.dumps({k: v["ext_path"] for k, v in get_federated_extensions(jupyter_path("labextensions")).items()}))'
    ]);
    expect(JSON.parse(found)['jupyterlab-ddp']).toBe(
      path.join(venv, 'share', 'jupyter', 'labextensions', 'jupyterlab-ddp')
    );
  });

  it('the wheel carries the Node server with its npm packages and the bundled lab, no tests or source maps', () => {
    const wheelDir = path.join(scratch, 'wheel');
    wheelVenv('venv-wheel'); // builds the wheel
    const [wheel] = fs.readdirSync(wheelDir).filter(f => f.endsWith('.whl'));
    const names = sh('/usr/bin/python3', [
      '-c',
      'import sys, zipfile; print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))',
      path.join(wheelDir, wheel)
    ]).split('\n');
    for (const expected of [
      'jupyterlab_ddp/extension.py',
      'jupyterlab_ddp/server/bin/jupyter-ddp.js',
      'jupyterlab_ddp/server/server-lib/server/cli/serve.js',
      'jupyterlab_ddp/server/server/py/guard.py',
      'jupyterlab_ddp/server/node_modules/zeromq/package.json',
      'jupyterlab_ddp/lab/app.py',
      'jupyterlab_ddp/lab/build/core/package.json',
      'jupyterlab_ddp-0.1.0.data/data/share/jupyter/labextensions/jupyterlab-ddp/package.json',
      'jupyterlab_ddp-0.1.0.data/data/etc/jupyter/jupyter_server_config.d/jupyterlab_ddp.json'
    ]) {
      expect(names).toContain(expected);
    }
    expect(names.filter(n => /\.map$|\/tests?\/|__tests__|\.d\.ts$/.test(n))).toEqual([]);
  });
});

describe('a plain jupyter server with the package', () => {
  let jupyter: TestJupyter;
  const api = (route: string, init: RequestInit = {}) => fetch(`${jupyter.url}${route}`, init);
  const withToken = { headers: { Authorization: `token ${TOKEN}` } };

  beforeAll(async () => {
    jupyter = await startTestJupyter(TOKEN, wheelVenv('venv-serve'));
    // the extension's Node server comes up after Jupyter does
    expect(await eventually(() => ddpServerPids().length === 2, 30_000)).toBe(true);
  });

  afterAll(() => jupyter?.stop());

  /** The extension's guard and Node server (/proc's command lines separate arguments by NULs). */
  const ddpServerPids = () => pidsWithArg(`serve\0--root-dir\0${jupyter.rootDir}\0`);
  /** Cookies of a browser that logged in with the token, as the UI's requests carry them. */
  async function browserLogin(): Promise<{ cookie: string; xsrf: string }> {
    const login = await api(`/lab?token=${TOKEN}`, { redirect: 'manual' });
    const cookies = login.headers.getSetCookie().map(c => c.split(';')[0]);
    const xsrf = cookies.find(c => c.startsWith('_xsrf='))?.slice('_xsrf='.length) ?? '';
    return { cookie: cookies.join('; '), xsrf };
  }

  it('serves /ddp/api under Jupyter auth: no credentials 403, the token 200', async () => {
    expect((await api('/ddp/api/health')).status).toBe(403);
    expect((await api('/ddp/api/health?token=wrong')).status).toBe(403);
    let health: Response;
    for (;;) {
      health = await api('/ddp/api/health', withToken);
      if (health.status !== 503) {
        break; // 503 only while the Node server starts
      }
      await new Promise(r => setTimeout(r, 200));
    }
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', version: '0.1.0' });
    // the Node server's own errors come through as they are
    const unknown = await api('/ddp/api/nothing-here', withToken);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'No such API route: GET /ddp/api/nothing-here' });
  });

  it('a cookie-authenticated write needs the XSRF token, and a cross-origin one is refused', async () => {
    const { cookie, xsrf } = await browserLogin();
    expect(xsrf).not.toBe('');
    const post = (headers: Record<string, string>) =>
      // no body, as the UI's interrupt and restart
      // no body, as the UI's interrupt and restart
      api(`${GROUP}/interrupt`, { method: 'POST', headers: { cookie, ...headers } });
    expect((await post({})).status).toBe(403);
    // with it, the request reaches the Node server, which answers for itself
    expect(await (await post({ 'X-XSRFToken': xsrf })).json()).toMatchObject({
      error: expect.stringContaining('stopped')
    });
    expect((await post({ 'X-XSRFToken': xsrf, Origin: 'http://evil.example' })).status).toBe(404);
  });

  it('the Node server takes nothing without the shared secret, and binds loopback only', async () => {
    const [node] = ddpServerPids().filter(
      pid => fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'node'
    );
    const listening = sh('ss', ['-Hltnp'])
      .split('\n')
      .filter(l => l.includes(`pid=${node},`));
    expect(listening).toHaveLength(1);
    const address = listening[0].split(/\s+/)[3];
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const direct = await fetch(`http://${address}/ddp/api/health?token=${TOKEN}`);
    expect(direct.status).toBe(401);
    // the secret is in no command line
    expect(fs.readFileSync(`/proc/${node}/cmdline`, 'utf8')).not.toMatch(/secret/i);
  });

  it('bridges the WebSocket under Jupyter auth: the hello comes through; a foreign Origin is refused', async () => {
    const url = `${jupyter.url.replace('http', 'ws')}/ddp/api/ws`;
    const connect = (query: string, headers: Record<string, string>) => {
      const ws = new WebSocket(`${url}${query}`, { headers });
      return new Promise<HelloMessage | number>((resolve, reject) => {
        ws.once('message', data => {
          ws.close();
          resolve(JSON.parse(String(data)));
        });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('error', reject);
      });
    };
    const hello = await connect(`?token=${TOKEN}`, {});
    expect(hello).toMatchObject({ type: 'hello', version: '0.1.0', group: { state: 'stopped' } });
    expect((hello as HelloMessage).restartedAfter).toBeUndefined();
    expect(await connect('', {})).toBe(403);

    // A browser's socket: its cookie, and the Origin it cannot hide. Jupyter checks the Origin of
    // cookie-authenticated sockets only (a page elsewhere cannot know the token).
    const { cookie } = await browserLogin();
    expect(await connect('', { cookie, Origin: jupyter.url })).toMatchObject({ type: 'hello' });
    expect(await connect('', { cookie, Origin: 'http://evil.example' })).toBe(403);
  });

  it('the notebook kernels reach the Node server with their key (kernel-client)', async () => {
    const info = (await (await api('/ddp/api/kernel-client', withToken)).json()) as {
      url: string;
      key: string;
    };
    expect(info.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const group = await fetch(`${info.url}${GROUP}`, {
      headers: { Authorization: `token ${info.key}` }
    });
    expect(group.status).toBe(200);
  });

  it('a running group is interrupted; stopping Jupyter ends the Node server and every rank, and removes their files', async () => {
    const start = await api(GROUP, {
      method: 'POST',
      headers: { ...withToken.headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ cpuRanks: 2 })
    });
    const group = (await start.json()) as { ranks: { pid: number }[] };
    expect(start.status).toBe(200);
    // an answer without a body (204) comes through as it is
    const interrupt = await api(`${GROUP}/interrupt`, { method: 'POST', ...withToken });
    expect(interrupt.status).toBe(204);
    const ours = [...group.ranks.map(r => r.pid), ...ddpServerPids()];
    const [ddpDir] = fs.readdirSync(jupyter.runtimeDir).filter(f => f.startsWith('jupyter-ddp-'));
    expect(fs.readdirSync(path.join(jupyter.runtimeDir, ddpDir)).length).toBeGreaterThan(0);

    process.kill(jupyter.pid, 'SIGTERM');
    expect(await eventually(() => !isRunning(jupyter.pid), 30_000)).toBe(true);
    expect(ours.filter(isRunning)).toEqual([]);
    expect(fs.existsSync(path.join(jupyter.runtimeDir, ddpDir))).toBe(false);
  });
});

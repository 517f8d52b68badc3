import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { JupyterBackend } from '../backend';

/** Files under `dir` (recursively) whose text holds `secret`. */
function filesHolding(dir: string, secret: string): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map(name => path.join(dir, name))
    .filter(file => fs.statSync(file).isFile() && fs.readFileSync(file, 'utf8').includes(secret));
}

/**
 * The real Jupyter server that `jupyter-ddp lab` starts: the files where it writes the token
 * (jpserver-*.json, jpserver-*-open.html) and its kernels' keys are ours alone.
 */
describe('JupyterBackend', () => {
  const token = randomBytes(24).toString('hex');
  let rootDir: string;
  let backend: JupyterBackend;

  beforeAll(async () => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-backend-root-'));
    backend = await JupyterBackend.start({
      token,
      rootDir,
      allowRemoteAccess: false,
      verbose: false
    });
  });

  afterAll(async () => {
    await backend?.stop();
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  it('keeps every file holding the token in a runtime folder no other user may enter', async () => {
    const { JUPYTER_RUNTIME_DIR: _ours, ...env } = process.env;
    const sharedRuntimeDir = execFileSync(
      backend.python,
      ['-c', 'from jupyter_core.paths import jupyter_runtime_dir; print(jupyter_runtime_dir())'],
      { env, encoding: 'utf8' }
    ).trim();
    expect(filesHolding(sharedRuntimeDir, token)).toEqual([]);

    const stat = fs.statSync(backend.runtimeDir);
    expect(stat.uid).toBe(process.getuid?.());
    expect(stat.mode & 0o777).toBe(0o700);
    const names = filesHolding(backend.runtimeDir, token).map(file => path.basename(file));
    expect(names).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^jpserver-\d+\.json$/),
        expect.stringMatching(/^jpserver-\d+-open\.html$/)
      ])
    );
  });

  it('gives its kernels their connection files there too, and removes the folder at stop', async () => {
    const res = await fetch(`${backend.url}/api/kernels`, {
      method: 'POST',
      headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'python3' })
    });
    expect(res.status).toBe(201);
    const { id } = await res.json();
    expect(fs.existsSync(path.join(backend.runtimeDir, `kernel-${id}.json`))).toBe(true);

    await backend.stop();
    expect(fs.existsSync(backend.runtimeDir)).toBe(false);
  });
});

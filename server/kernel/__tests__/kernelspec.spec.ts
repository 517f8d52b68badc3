import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { findPython } from '../../jupyter/python';
import {
  findKernelSpecs,
  getKernelSpec,
  jupyterDataDirs,
  kernelSearchDirs,
  parseKernelJson
} from '../kernelspec';

/** Kernelspec discovery on the real filesystem, in temp folders named by the Jupyter variables. */
describe('kernelspecs', () => {
  const savedEnv = { ...process.env };
  let root: string;
  let pathA: string;
  let pathB: string;
  let user: string;

  async function writeSpec(dataDir: string, name: string, json: unknown): Promise<string> {
    const dir = path.join(dataDir, 'kernels', name);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(
      path.join(dir, 'kernel.json'),
      typeof json === 'string' ? json : JSON.stringify(json)
    );
    return dir;
  }

  function spec(tag: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      argv: ['/bin/echo', tag, '{connection_file}'],
      display_name: `Kernel ${tag}`,
      language: 'python',
      ...extra
    };
  }

  /** An executable script in a fresh bin folder put first on PATH. */
  async function fakeCommand(name: string, script: string): Promise<void> {
    const bin = await fs.mkdtemp(path.join(root, 'bin-'));
    await fs.writeFile(path.join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    process.env.PATH = `${bin}${path.delimiter}${savedEnv.PATH ?? ''}`;
  }

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ddp-kernelspec-'));
    pathA = path.join(root, 'path-a');
    pathB = path.join(root, 'path-b');
    user = path.join(root, 'user');
    for (const dir of [pathA, pathB, user]) {
      await fs.mkdir(dir);
    }
    process.env.JUPYTER_PATH = [pathA, pathB].join(path.delimiter);
    process.env.JUPYTER_DATA_DIR = user;
    delete process.env.JUPYTER_PREFER_ENV_PATH;
  });

  afterEach(async () => {
    for (const key of Object.keys(process.env)) {
      if (!(key in savedEnv)) {
        delete process.env[key];
      }
    }
    Object.assign(process.env, savedEnv);
    await fs.rm(root, { recursive: true, force: true });
  });

  it('searches JUPYTER_PATH, the user folder, sys.prefix, then the system folders', () => {
    expect(jupyterDataDirs('/opt/env')).toEqual([
      pathA,
      pathB,
      user,
      '/opt/env/share/jupyter',
      '/usr/local/share/jupyter',
      '/usr/share/jupyter'
    ]);
    // Debian's sys.prefix is /usr: its share/jupyter is a system folder, kept in the system place
    expect(jupyterDataDirs('/usr')).toEqual([
      pathA,
      pathB,
      user,
      '/usr/local/share/jupyter',
      '/usr/share/jupyter'
    ]);
    process.env.JUPYTER_PREFER_ENV_PATH = '1';
    expect(jupyterDataDirs('/opt/env').slice(2, 4)).toEqual(['/opt/env/share/jupyter', user]);
  });

  it('finds the user folder from XDG_DATA_HOME or the home folder without JUPYTER_DATA_DIR', () => {
    delete process.env.JUPYTER_DATA_DIR;
    delete process.env.JUPYTER_PATH;
    process.env.XDG_DATA_HOME = path.join(root, 'xdg');
    const expected =
      process.platform === 'darwin'
        ? path.join(os.homedir(), 'Library', 'Jupyter')
        : path.join(root, 'xdg', 'jupyter');
    expect(jupyterDataDirs()[0]).toBe(expected);
    if (process.platform === 'linux') {
      delete process.env.XDG_DATA_HOME;
      expect(jupyterDataDirs()[0]).toBe(path.join(os.homedir(), '.local', 'share', 'jupyter'));
    }
  });

  it("asks the Python for sys.prefix and searches each folder's kernels", async () => {
    const dirs = await kernelSearchDirs();
    expect(dirs.slice(0, 3)).toEqual([pathA, pathB, user].map(d => path.join(d, 'kernels')));
    expect(dirs).toContain('/usr/share/jupyter/kernels');
    if ((await findPython([])) === '/usr/bin/python3') {
      // Debian's sys.prefix /usr adds nothing new
      expect(dirs.slice(3)).toEqual([
        '/usr/local/share/jupyter/kernels',
        '/usr/share/jupyter/kernels'
      ]);
    }
  });

  it('lets JUPYTER_PATH beat the user folder, and the user folder beat the system', async () => {
    const inA = await writeSpec(pathA, 'shared', spec('a'));
    await writeSpec(pathB, 'shared', spec('b'));
    await writeSpec(user, 'shared', spec('user'));
    const inB = await writeSpec(pathB, 'onlyb', spec('b'));
    const userPython = await writeSpec(user, 'python3', spec('user-python'));

    const specs = await findKernelSpecs({ jupyterCommand: false });
    expect(specs.get('shared')).toMatchObject({ resourceDir: inA, displayName: 'Kernel a' });
    expect(specs.get('onlyb')?.resourceDir).toBe(inB);
    expect(specs.get('python3')).toMatchObject({
      resourceDir: userPython,
      argv: ['/bin/echo', 'user-python', '{connection_file}']
    });
  });

  it('reads every kernel.json field, with defaults', async () => {
    const full = await writeSpec(
      pathA,
      'full',
      spec('full', {
        env: { FOO: 'bar' },
        interrupt_mode: 'message',
        metadata: { debugger: true, extra: [1] }
      })
    );
    await writeSpec(pathA, 'caseless', spec('caseless', { interrupt_mode: 'MESSAGE' }));
    await writeSpec(pathA, 'minimal', { argv: ['k', '-f', '{connection_file}'] });

    const specs = await findKernelSpecs({ jupyterCommand: false });
    expect(specs.get('full')).toEqual({
      name: 'full',
      resourceDir: full,
      argv: ['/bin/echo', 'full', '{connection_file}'],
      displayName: 'Kernel full',
      language: 'python',
      env: { FOO: 'bar' },
      interruptMode: 'message',
      metadata: { debugger: true, extra: [1] }
    });
    expect(specs.get('caseless')?.interruptMode).toBe('message');
    expect(specs.get('minimal')).toMatchObject({
      displayName: '',
      language: '',
      env: {},
      interruptMode: 'signal',
      metadata: {}
    });
  });

  it('lower-cases folder names and skips invalid names and kernel.json files', async () => {
    await writeSpec(pathA, 'MyKernel', spec('mixed'));
    await writeSpec(pathA, 'broken', '{ "argv": [');
    await writeSpec(pathA, 'emptyargv', spec('x', { argv: [] }));
    await writeSpec(pathA, 'badmode', spec('x', { interrupt_mode: 'sometimes' }));
    await writeSpec(pathA, 'badenv', spec('x', { env: { N: 1 } }));
    await writeSpec(pathA, 'notobject', '[1, 2]');
    await writeSpec(pathA, 'bad name', spec('x'));
    await fs.mkdir(path.join(pathA, 'kernels', 'nojson'));
    await fs.writeFile(path.join(pathA, 'kernels', 'file.txt'), 'not a folder');
    // a broken spec does not hide a valid one of the same name further down the path
    await writeSpec(pathB, 'broken', spec('fixed'));

    const specs = await findKernelSpecs({ jupyterCommand: false, native: false });
    const names = [...specs.keys()];
    expect(names).toContain('mykernel');
    expect(specs.get('mykernel')?.resourceDir).toBe(path.join(pathA, 'kernels', 'MyKernel'));
    for (const bad of [
      'emptyargv',
      'badmode',
      'badenv',
      'notobject',
      'bad name',
      'nojson',
      'file.txt'
    ]) {
      expect(names).not.toContain(bad);
    }
    expect(specs.get('broken')?.argv[1]).toBe('fixed');
  });

  it('validates kernel.json objects', () => {
    expect(parseKernelJson('k', '/d', { argv: ['x'] })).not.toBeNull();
    expect(parseKernelJson('k', '/d', { argv: ['x', 2] })).toBeNull();
    expect(parseKernelJson('k', '/d', { argv: 'x' })).toBeNull();
    expect(parseKernelJson('k', '/d', { argv: ['x'], display_name: 3 })).toBeNull();
    expect(parseKernelJson('k', '/d', { argv: ['x'], metadata: [] })).toBeNull();
    expect(parseKernelJson('k', '/d', null)).toBeNull();
  });

  it("finds Debian's python3 spec on this machine", async () => {
    if (!existsSync('/usr/share/jupyter/kernels/python3/kernel.json')) {
      return; // not a Debian machine with python3-ipykernel
    }
    const python3 = await getKernelSpec('python3', { jupyterCommand: false });
    expect(python3.resourceDir).toBe('/usr/share/jupyter/kernels/python3');
    expect(python3.argv).toEqual([
      '/usr/bin/python3',
      '-m',
      'ipykernel_launcher',
      '-f',
      '{connection_file}'
    ]);
    expect(python3.language).toBe('python');
    expect(python3.interruptMode).toBe('signal');
  });

  it("synthesizes ipykernel's python3 spec when no folder has one", async () => {
    const python = await findPython(['ipykernel']);
    const specs = await findKernelSpecs({ kernelDirs: [path.join(pathA, 'kernels')] });
    if (!python) {
      expect(specs.has('python3')).toBe(false);
      return;
    }
    expect(specs.get('python3')).toMatchObject({
      name: 'python3',
      argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      displayName: 'Python 3 (ipykernel)',
      language: 'python',
      interruptMode: 'signal'
    });
    const native = await findKernelSpecs({
      kernelDirs: [path.join(pathA, 'kernels')],
      native: false
    });
    expect(native.size).toBe(0);
  });

  it('looks names up case-insensitively and lists the available ones when one is missing', async () => {
    await writeSpec(pathA, 'alpha', spec('alpha'));
    await writeSpec(user, 'beta', spec('beta'));
    expect((await getKernelSpec('ALPHA', { jupyterCommand: false })).name).toBe('alpha');
    const missing = getKernelSpec('nope', { jupyterCommand: false });
    await expect(missing).rejects.toThrow(/No such kernel: 'nope'/);
    await expect(missing).rejects.toThrow(/Available kernelspecs: .*alpha, beta/);

    await expect(getKernelSpec('nope', { kernelDirs: [], native: false })).rejects.toThrow(
      "No such kernel: 'nope'. No kernelspecs were found."
    );
  });

  it('prefers the answer of a `jupyter` command on PATH', async () => {
    await writeSpec(pathA, 'ondisk', spec('disk'));
    const answer = {
      kernelspecs: {
        FromJupyter: {
          resource_dir: '/somewhere/fromjupyter',
          spec: spec('cmd', { env: { A: 'b' }, interrupt_mode: 'message', metadata: { m: 1 } })
        },
        broken: { resource_dir: '/x', spec: { argv: [] } }
      }
    };
    await fs.writeFile(path.join(root, 'answer.json'), JSON.stringify(answer));
    await fakeCommand(
      'jupyter',
      `[ "$*" = "kernelspec list --json" ] || exit 2\ncat '${path.join(root, 'answer.json')}'`
    );

    const specs = await findKernelSpecs({ native: false });
    expect([...specs.keys()]).toEqual(['fromjupyter']);
    expect(specs.get('fromjupyter')).toEqual({
      name: 'fromjupyter',
      resourceDir: '/somewhere/fromjupyter',
      argv: ['/bin/echo', 'cmd', '{connection_file}'],
      displayName: 'Kernel cmd',
      language: 'python',
      env: { A: 'b' },
      interruptMode: 'message',
      metadata: { m: 1 }
    });
    // opting out of the command scans the folders
    expect((await findKernelSpecs({ jupyterCommand: false })).has('ondisk')).toBe(true);
  });

  it('scans the folders when the `jupyter` command fails or prints something else', async () => {
    await writeSpec(pathA, 'ondisk', spec('disk'));
    await fakeCommand(
      'jupyter',
      "echo 'Jupyter command `jupyter-kernelspec` not found.' >&2\nexit 1"
    );
    expect((await findKernelSpecs()).has('ondisk')).toBe(true);

    await fakeCommand('jupyter', 'echo not json');
    expect((await findKernelSpecs()).has('ondisk')).toBe(true);
  });
});

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { eventually, isRunning, pidsWithArg } from '../../__tests__/processes';
import { createRuntimeDir } from '../../kernel/connection';
import { Kernel } from '../../kernel/kernel';
import { getKernelSpec } from '../../kernel/kernelspec';
import { PACKAGE_ROOT } from '../../package-root';
import { guarded } from '../guard';

/** A process's session id (/proc/PID/stat, field 6). */
function sessionOf(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[3]);
}

/**
 * Python for a kernel cell: starts `sleep 600` in a session of its own (out of the kernel's
 * process group, where a group kill cannot reach it) and gives its pid and the kernel's.
 */
const ESCAPE = 'import os, subprocess\np = subprocess.Popen(["setsid", "sleep", "600"])';
const PIDS = 'f"{os.getpid()} {p.pid}"';

/** Until the escaped sleep has called setsid and runs in its own session. */
async function escaped(kernelPid: number, sleeper: number): Promise<void> {
  const alone = () => {
    try {
      return fs.readFileSync(`/proc/${sleeper}/cmdline`, 'utf8').startsWith('sleep\0');
    } catch {
      return false;
    }
  };
  expect(await eventually(alone, 10_000)).toBe(true);
  expect(sessionOf(sleeper)).not.toBe(sessionOf(kernelPid));
}

describe('the process guard', () => {
  let runtimeDir: string;
  const leftovers: number[] = [];

  beforeEach(() => {
    runtimeDir = createRuntimeDir();
  });

  afterEach(() => {
    for (const pid of leftovers.splice(0).filter(isRunning)) {
      process.kill(pid, 'SIGKILL');
    }
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });

  async function startKernel(): Promise<{ kernel: Kernel; kernelPid: number; sleeper: number }> {
    const kernel = await Kernel.start({
      spec: await getKernelSpec('python3'),
      label: 'guarded',
      runtimeDir,
      cwd: runtimeDir,
      env: {},
      python: '/usr/bin/python3',
      onIopub: () => undefined
    });
    const [kernelPid, sleeper] = (await kernel.evaluate(ESCAPE, PIDS)).split(' ').map(Number);
    leftovers.push(sleeper);
    await escaped(kernelPid, sleeper);
    return { kernel, kernelPid, sleeper };
  }

  it('ends what a kernel started in another session when the kernel is SIGKILLed', async () => {
    const { kernel, kernelPid, sleeper } = await startKernel();
    process.kill(kernelPid, 'SIGKILL');
    const exit = await kernel.exited;
    expect(exit.signal).toBe('SIGKILL'); // the guard exits as its command did
    expect(isRunning(sleeper)).toBe(false);
    await kernel.kill(); // its channels
  });

  it('ends what a kernel started in another session when the kernel is killed', async () => {
    const { kernel, sleeper } = await startKernel();
    await kernel.kill();
    expect(await eventually(() => !isRunning(sleeper), 10_000)).toBe(true);
  });

  it('removes the connection file and ends everything when the server is SIGKILLed', async () => {
    // A stand-in server: starts a kernel, says its pids, and waits to be killed.
    const script = `
      const { Kernel } = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'server-lib/server/kernel/kernel.js'))});
      const { getKernelSpec } = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'server-lib/server/kernel/kernelspec.js'))});
      (async () => {
        const kernel = await Kernel.start({
          spec: await getKernelSpec('python3'), label: 'orphan', runtimeDir: ${JSON.stringify(runtimeDir)},
          cwd: ${JSON.stringify(runtimeDir)}, env: {}, python: '/usr/bin/python3', onIopub: () => undefined
        });
        const pids = await kernel.evaluate(${JSON.stringify(ESCAPE)}, ${JSON.stringify(PIDS)});
        process.stdout.write(kernel.pid + ' ' + pids + '\\n');
      })();`;
    const server = spawn(process.execPath, ['-e', script], {
      stdio: ['ignore', 'pipe', 'inherit']
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout.on('data', chunk => {
        out += chunk;
        if (out.includes('\n')) {
          resolve(out.trim());
        }
      });
      server.once('exit', code => reject(new Error(`the stand-in server exited (${code})`)));
    });
    const [guard, kernelPid, sleeper] = line.split(' ').map(Number);
    leftovers.push(guard, kernelPid, sleeper);
    await escaped(kernelPid, sleeper);
    const [connectionFile] = fs.readdirSync(runtimeDir);
    expect(connectionFile).toMatch(/^kernel-orphan-.*\.json$/);

    server.kill('SIGKILL');
    expect(
      await eventually(
        () =>
          ![guard, kernelPid, sleeper].some(isRunning) && fs.readdirSync(runtimeDir).length === 0,
        10_000
      )
    ).toBe(true);
  });

  it('with --group-only (the Jupyter server), ends its group but leaves sessions of their own', async () => {
    // A command with a child in its group and one in a session of its own (as tmux is, started
    // from a JupyterLab terminal).
    const [command, args] = guarded(
      '/usr/bin/python3',
      ['sh', '-c', 'setsid sleep 604 & sleep 605 & echo $! ; wait'],
      1,
      [],
      true
    );
    const guard = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const grouped = Number(
      await new Promise<string>(r => guard.stdout!.once('data', d => r(String(d))))
    );
    const own = () => pidsWithArg('sleep\x00604');
    expect(await eventually(() => own().length === 1, 5_000)).toBe(true);
    leftovers.push(...own());
    process.kill(guard.pid!, 'SIGTERM');
    expect(await eventually(() => !isRunning(grouped), 5_000)).toBe(true);
    expect(await eventually(() => !isRunning(guard.pid!), 5_000)).toBe(true);
    expect(own()).toEqual(leftovers);
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ExecutionSummary, OutputEvent } from '../../../src/protocol/api';
import { eventually, isRunning, pidsWithArg } from '../../__tests__/processes';
import { createRuntimeDir } from '../../kernel/connection';
import { DdpGroup } from '../group';
import { rankEnvironment } from '../rank-env';

/** Warm spare kernels with real ipykernel ranks and torch.distributed over gloo: no mocks. */

const ENV_KEYS = Object.keys(
  rankEnvironment(0, { worldSize: 1, masterPort: 1, cudaVisibleDevices: null, runId: 'x' })
);

function parentPid(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
  } catch {
    return 0;
  }
}

describe('warm spares', () => {
  let rootDir: string;
  let runtimeDir: string;
  let group: DdpGroup;
  const outputs: OutputEvent[] = [];
  const executions = new Map<string, ExecutionSummary>();

  /** Processes (guards and kernels) started as spares and not (yet) ranks of the group. */
  const spareProcesses = () => {
    const kernels = group.info().ranks.map(r => r.pid!);
    const ranks = [...kernels, ...kernels.map(parentPid)]; // and their guards
    return pidsWithArg(path.join(runtimeDir, 'kernel-spare')).filter(pid => !ranks.includes(pid));
  };
  /** Every process of this test's group: guards and kernels of its ranks and of its spares. */
  const allProcesses = () => pidsWithArg(runtimeDir);

  async function run(code: string) {
    const { id } = group.execute({ code });
    await eventually(() => executions.get(id)?.status !== 'running', 60_000);
    const stdout: Record<number, string> = {};
    for (const o of outputs.filter(o => o.execution === id && o.msgType === 'stream')) {
      stdout[o.rank] = (stdout[o.rank] ?? '') + (o.content.text as string);
    }
    return { summary: executions.get(id)!, stdout };
  }

  /** Each rank's torchrun variables. */
  async function rankEnv(): Promise<Record<string, string>[]> {
    const { stdout } = await run(
      `import json, os; print(json.dumps({k: os.environ.get(k) for k in ${JSON.stringify(ENV_KEYS)}}))`
    );
    return Object.keys(stdout).map(rank => JSON.parse(stdout[Number(rank)]));
  }

  beforeAll(() => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-spares-'));
    runtimeDir = createRuntimeDir();
    group = new DdpGroup(
      'default',
      { rootDir, runtimeDir, python: '/usr/bin/python3' },
      {
        group: () => undefined,
        output: event => outputs.push(event),
        execution: summary => executions.set(summary.id, summary)
      }
    );
  });

  afterAll(async () => {
    await group.stop();
    fs.rmSync(rootDir, { recursive: true, force: true });
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });

  it('a restart takes the warm spares: a fresh, working group with a new environment', async () => {
    const before = await group.start({ ranks: 4 });
    await run('marker = 1');
    const envBefore = await rankEnv();
    expect(await group.sparesSettled()).toBe(4);
    const spares = spareProcesses();
    expect(spares).toHaveLength(8); // a guard and a kernel each
    // spares are nobody's ranks and say nothing
    expect(group.info().ranks).toHaveLength(4);
    expect(outputs.every(o => executions.has(o.execution))).toBe(true);

    const started = Date.now();
    const after = await group.restart();
    const restartMs = Date.now() - started;
    process.stdout.write(`restart of 4 ranks on warm spares: ${restartMs} ms\n`);
    expect(after).toMatchObject({ state: 'ready', worldSize: 4, backend: 'gloo' });
    const pids = after.ranks.map(r => r.pid!);
    for (const pid of pids) {
      expect(spares).toContain(pid);
      expect(before.ranks.map(r => r.pid)).not.toContain(pid);
    }
    expect(await eventually(() => before.ranks.every(r => !isRunning(r.pid!)), 5_000)).toBe(true);

    const fresh = await run('print("marker" in globals())');
    expect(fresh.stdout).toEqual({ 0: 'False\n', 1: 'False\n', 2: 'False\n', 3: 'False\n' });
    expect(fresh.summary.executionCount).toEqual({ 0: 1, 1: 1, 2: 1, 3: 1 });
    const reduced = await run(
      'import torch, torch.distributed as dist\nt = torch.tensor([dist.get_rank() + 1.0])\ndist.all_reduce(t)\nprint(dist.get_rank(), dist.get_world_size(), t.item())'
    );
    expect(reduced.stdout).toEqual({
      0: '0 4 10.0\n',
      1: '1 4 10.0\n',
      2: '2 4 10.0\n',
      3: '3 4 10.0\n'
    });

    // exactly the environment a freshly started rank gets, with a new port and run id
    const env = await rankEnv();
    const shape = {
      worldSize: 4,
      masterPort: Number(env[0].MASTER_PORT),
      cudaVisibleDevices: null,
      runId: env[0].TORCHELASTIC_RUN_ID
    };
    expect(env).toEqual([0, 1, 2, 3].map(rank => rankEnvironment(rank, shape)));
    expect(env[0].MASTER_PORT).not.toBe(envBefore[0].MASTER_PORT);
    expect(env[0].TORCHELASTIC_RUN_ID).not.toBe(envBefore[0].TORCHELASTIC_RUN_ID);
  });

  it('refills the pool, replaces a spare that dies, and ends every spare with stop()', async () => {
    expect(await group.sparesSettled()).toBe(4);
    const spares = spareProcesses();
    expect(spares).toHaveLength(8);
    const victim = spares.find(
      pid => !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('guard.py')
    )!;
    process.kill(victim, 'SIGKILL');
    expect(
      await eventually(() => spareProcesses().some(pid => !spares.includes(pid)), 10_000)
    ).toBe(true);
    expect(await group.sparesSettled()).toBe(4);
    expect(spareProcesses()).toHaveLength(8);
    expect(group.summary().state).toBe('ready');

    await group.stop();
    expect(await eventually(() => allProcesses().length === 0, 5_000)).toBe(true);
  });

  it('keeps no spares when asked not to', async () => {
    await group.start({ ranks: 2, initProcessGroup: false, spares: false });
    expect(await group.sparesSettled()).toBe(0);
    await new Promise(r => setTimeout(r, 500));
    expect(spareProcesses()).toEqual([]);
    await group.stop();
  });

  describe('with spares that never answer', () => {
    const originalJupyterPath = process.env.JUPYTER_PATH;
    let specDir: string;

    beforeAll(() => {
      // Kernels started without RANK (spares, before they are handed a rank) hang before
      // ipykernel starts: alive, silent, never answering. Ranks started fresh work.
      specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-stuck-spares-'));
      fs.mkdirSync(path.join(specDir, 'kernels', 'stuckspares'), { recursive: true });
      fs.writeFileSync(
        path.join(specDir, 'kernels', 'stuckspares', 'kernel.json'),
        JSON.stringify({
          argv: [
            '/bin/sh',
            '-c',
            'test -n "$RANK" || sleep 600; exec /usr/bin/python3 -m ipykernel_launcher -f "$0"',
            '{connection_file}'
          ],
          display_name: 'Python 3 (spares hang)',
          language: 'python'
        })
      );
      process.env.JUPYTER_PATH = specDir;
    });

    afterAll(() => {
      process.env.JUPYTER_PATH = originalJupyterPath;
      fs.rmSync(specDir, { recursive: true, force: true });
    });

    it('a restart starts kernels of its own rather than wait for them', async () => {
      const before = await group.start({ ranks: 2, kernelName: 'stuckspares' });
      // the pool has started its two spares, which hang in `sleep` (argv "sleep", "600")
      const sleeping = () => pidsWithArg('sleep\x00600');
      expect(await eventually(() => sleeping().length === 2, 10_000)).toBe(true);
      const stuck = sleeping();

      const after = await group.restart();
      expect(after).toMatchObject({ state: 'ready', worldSize: 2, backend: 'gloo' });
      // Fresh ranks, not the spares, which are still there, still waiting: nobody waited for them.
      expect(after.ranks.map(r => r.pid)).not.toEqual(before.ranks.map(r => r.pid));
      expect(stuck.every(isRunning)).toBe(true);
      const reduced = await run(
        'import torch, torch.distributed as dist\nt = torch.tensor([1.0])\ndist.all_reduce(t)\nprint(t.item())'
      );
      expect(reduced.stdout).toEqual({ 0: '2.0\n', 1: '2.0\n' });

      await group.stop();
      expect(await eventually(() => allProcesses().length === 0, 5_000)).toBe(true);
      expect(stuck.some(isRunning)).toBe(false);
    });
  });
});

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { eventually, isRunning, pidsWithArg } from '../../__tests__/processes';
import { DdpGroup } from '../group';
import { newGroup, run, writeKernelSpec } from './recorder';

/** Real ipykernel ranks with torch.distributed over gloo: no mocks. */

const ALL_REDUCE = `
import torch, torch.distributed as dist
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
print(f"rank {dist.get_rank()} of {dist.get_world_size()}: sum {t.item()}")
`;

describe('DDP group with CPU ranks (gloo)', () => {
  let rootDir: string;
  const groups: DdpGroup[] = [];

  beforeAll(() => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-group-'));
  });

  afterAll(async () => {
    await Promise.all(groups.map(g => g.stop()));
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  function track(rootDir: string) {
    const made = newGroup(rootDir);
    groups.push(made.group);
    return made;
  }

  it.each([2, 4])('all_reduce over %i ranks gives the right sum on every rank', async ranks => {
    const { group, seen } = track(rootDir);
    const info = await group.start({ ranks });
    expect(info).toMatchObject({
      state: 'ready',
      worldSize: ranks,
      device: 'cpu',
      backend: 'gloo'
    });
    expect(info.ranks.map(r => r.pid)).toEqual(expect.arrayContaining([expect.any(Number)]));

    const { summary, stdout } = await run(group, seen, ALL_REDUCE);
    expect(summary.status).toBe('ok');
    const expected = (ranks * (ranks + 1)) / 2;
    for (let rank = 0; rank < ranks; rank++) {
      expect(stdout[rank]).toBe(`rank ${rank} of ${ranks}: sum ${expected.toFixed(1)}\n`);
    }
    expect(seen.groups.map(g => g.state)).toEqual(['starting', 'ready', 'busy', 'ready']);
    // Each rank's busy and idle status is relayed, tagged with its rank.
    const statuses = seen.outputs
      .filter(o => o.msgType === 'status')
      .map(o => `${o.rank}:${o.content.execution_state}`);
    expect(statuses.sort()).toEqual(
      Array.from({ length: ranks }, (_, r) => [`${r}:busy`, `${r}:idle`])
        .flat()
        .sort()
    );
    await group.stop();
  });

  it("gives each rank torchrun's environment", async () => {
    const { group, seen } = track(rootDir);
    await group.start({ ranks: 2 });
    const { stdout } = await run(
      group,
      seen,
      `import os; print(*(os.environ[k] for k in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR")), repr(os.environ["CUDA_VISIBLE_DEVICES"]))`
    );
    expect(stdout[0]).toBe("0 0 2 2 127.0.0.1 ''\n");
    expect(stdout[1]).toBe("1 1 2 2 127.0.0.1 ''\n");
    await group.stop();
  });

  it('runs on a chosen subset of ranks and reports errors per rank', async () => {
    const { group, seen } = track(rootDir);
    await group.start({ ranks: 2, initProcessGroup: false });
    const subset = await run(group, seen, 'print("only me")', [1]);
    expect(subset.stdout).toEqual({ 1: 'only me\n' });

    const failing = await run(
      group,
      seen,
      'import os\nif os.environ["RANK"] == "1":\n    raise ValueError("bad rank")'
    );
    expect(failing.summary.status).toBe('error');
    expect(failing.summary.rankStatus).toEqual({ 0: 'ok', 1: 'error' });
    const error = failing.events.find(e => e.msgType === 'error');
    expect(error).toMatchObject({ rank: 1, content: { ename: 'ValueError', evalue: 'bad rank' } });
    expect(() => group.execute({ code: 'pass', ranks: [5] })).toThrow(
      'rank 5 does not exist: group "default" has ranks 0-1'
    );
    await group.stop();
  });

  it('interrupts a sleep on every rank, and restart gives a fresh group', async () => {
    const { group, seen } = track(rootDir);
    const before = await group.start({ ranks: 2, initProcessGroup: false });
    await run(group, seen, 'marker = 1');
    const { id } = group.execute({ code: 'import time; time.sleep(60)' });
    await new Promise(r => setTimeout(r, 1000));
    await group.interrupt();
    await eventually(() => seen.executions.get(id)?.status !== 'running', 10_000);
    expect(seen.executions.get(id)).toMatchObject({
      status: 'error',
      rankStatus: { 0: 'error', 1: 'error' }
    });
    const errors = seen.outputs.filter(o => o.execution === id && o.msgType === 'error');
    expect(errors.map(e => e.content.ename)).toEqual(['KeyboardInterrupt', 'KeyboardInterrupt']);

    const after = await group.restart();
    expect(after.state).toBe('ready');
    expect(after.ranks.map(r => r.pid)).not.toEqual(before.ranks.map(r => r.pid));
    const fresh = await run(group, seen, 'print("marker" in globals())');
    expect(fresh.stdout).toEqual({ 0: 'False\n', 1: 'False\n' });
    expect(await eventually(() => before.ranks.every(r => !isRunning(r.pid!)), 5_000)).toBe(true);
    await group.stop();
  });

  it('a rank killed in a collective fails the group within a second, ends the others and everything they started, and restarts', async () => {
    const { group, seen } = track(rootDir);
    const info = await group.start({ ranks: 4 });
    const pids = info.ranks.map(r => r.pid!);
    // Each rank starts a child of its own first (as a DataLoader worker would be): rank 2's
    // outlives rank 2 unless the server ends rank 2's whole process group.
    const children = () => pidsWithArg('sleep\x00601');
    const { id } = group.execute({
      code: 'import os, signal, subprocess, torch.distributed as dist\nchild = subprocess.Popen(["sleep", "601"])\nif dist.get_rank() == 2:\n    os.kill(os.getpid(), signal.SIGKILL)\ndist.barrier()'
    });
    // The others now wait in the barrier for rank 2, which never comes.
    expect(await eventually(() => !isRunning(pids[2]), 10_000)).toBe(true);
    const killedAt = Date.now();
    expect(await eventually(() => group.summary().state === 'failed', 1_000)).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(1_000);
    expect(group.summary().error).toBe('rank 2 exited (SIGKILL)');
    expect(seen.executions.get(id)).toMatchObject({
      status: 'aborted',
      failure: 'rank 2 exited (SIGKILL)'
    });
    expect(await eventually(() => pids.every(pid => !isRunning(pid)), 5_000)).toBe(true);
    expect(await eventually(() => children().length === 0, 5_000)).toBe(true);

    const again = await group.restart();
    expect(again.state).toBe('ready');
    const { summary, stdout } = await run(group, seen, ALL_REDUCE);
    expect(summary.status).toBe('ok');
    expect(stdout[3]).toBe('rank 3 of 4: sum 10.0\n');
    await group.stop();
  });

  it('a rank that crashes is reported with its signal and its last words', async () => {
    const { group } = track(rootDir);
    await group.start({ ranks: 2, initProcessGroup: false, spares: false });
    group.execute({
      code: 'import ctypes, os\ndef crash():\n    ctypes.string_at(0)\nif os.environ["RANK"] == "1":\n    crash()'
    });
    expect(await eventually(() => group.summary().state === 'failed', 10_000)).toBe(true);
    expect(group.summary().error).toBe('rank 1 exited (SIGSEGV)');
    // Python's own account of the crash, down to the cell's function, and no start-up banner.
    const notices = group.info().notices.join('\n');
    expect(notices).toMatch(
      /Last output of rank 1:\n(.*\n)*Fatal Python error: Segmentation fault\n/
    );
    expect(notices).toMatch(/line 3 in crash/);
    expect(notices).not.toMatch(/To connect another client/);
    await group.stop();
  });

  it('rejects a second start and unknown kernelspecs without changing anything', async () => {
    const { group } = track(rootDir);
    await expect(group.start({ kernelName: 'no-such-kernel' })).rejects.toThrow(/no-such-kernel/);
    expect(group.summary().state).toBe('stopped');
    await group.start({ ranks: 2, initProcessGroup: false });
    await expect(group.start({ ranks: 2 })).rejects.toThrow(
      'group "default" is already ready; stop or restart it first'
    );
    expect(group.summary()).toMatchObject({ state: 'ready', worldSize: 2 });
    await group.stop();
  });
});

describe('DDP group without torch', () => {
  let dir: string;
  const originalJupyterPath = process.env.JUPYTER_PATH;

  beforeAll(() => {
    // A kernelspec whose Python finds a torch that fails to import, as on a machine without it.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-notorch-'));
    writeKernelSpec(dir, 'notorch', {
      'torch/__init__.py': 'raise ImportError("No module named torch")\n'
    });
    process.env.JUPYTER_PATH = dir;
  });

  afterAll(() => {
    process.env.JUPYTER_PATH = originalJupyterPath;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the ranks as a plain parallel kernel pool, with a notice', async () => {
    const { group, seen } = newGroup(dir);
    try {
      const info = await group.start({ ranks: 2, kernelName: 'notorch' });
      expect(info).toMatchObject({ state: 'ready', backend: null, kernelName: 'notorch' });
      expect(info.notices.join('\n')).toMatch(
        /torch is not importable on the ranks .*plain parallel kernel pool/
      );
      const { summary, stdout } = await run(group, seen, 'import os; print(os.environ["RANK"])');
      expect(summary.status).toBe('ok');
      expect(stdout).toEqual({ 0: '0\n', 1: '1\n' });
    } finally {
      await group.stop();
    }
  });
});

describe('DDP group on a machine with GPUs (fake nvidia-smi)', () => {
  let binDir: string;
  let rootDir: string;
  const originalPath = process.env.PATH;

  beforeAll(() => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-gpu-'));
    binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-fake-smi-'));
    const rows = [0, 1, 2, 3].map(
      i => `${i}, GPU-0000000${i}-aaaa-bbbb-cccc-dddddddddddd, NVIDIA H100 80GB HBM3, 81559`
    );
    fs.writeFileSync(
      path.join(binDir, 'nvidia-smi'),
      `#!/bin/sh\ncat <<'EOF'\n${rows.join('\n')}\nEOF\n`,
      { mode: 0o755 }
    );
    process.env.PATH = `${binDir}:${originalPath}`;
  });

  afterAll(() => {
    process.env.PATH = originalPath;
    fs.rmSync(binDir, { recursive: true, force: true });
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  it.each([
    ['all', 'all' as const, 4, '0,1,2,3'],
    ['0,2', [0, 2], 2, '0,2']
  ])(
    'gpus %s: one rank per GPU, each seeing the chosen GPUs and its own LOCAL_RANK',
    async (_label, gpus, worldSize, visible) => {
      const { group, seen } = newGroup(rootDir);
      try {
        // No NCCL here: only the device mapping is under test.
        const info = await group.start({ gpus, initProcessGroup: false });
        expect(info).toMatchObject({ device: 'gpu', worldSize });
        expect(info.ranks.map(r => r.cudaVisibleDevices)).toEqual(Array(worldSize).fill(visible));
        const { stdout } = await run(
          group,
          seen,
          'import os; print(os.environ["CUDA_VISIBLE_DEVICES"], os.environ["LOCAL_RANK"])'
        );
        for (let rank = 0; rank < worldSize; rank++) {
          expect(stdout[rank]).toBe(`${visible} ${rank}\n`);
        }
      } finally {
        await group.stop();
      }
    }
  );

  it('refuses more ranks than GPUs, naming both', async () => {
    const { group } = newGroup(rootDir);
    await expect(group.start({ ranks: 6 })).rejects.toThrow(/6 ranks .* 4 GPUs/);
    await expect(group.start({ gpus: [0, 7] })).rejects.toThrow(/7/);
    expect(group.summary().state).toBe('stopped');
  });
});

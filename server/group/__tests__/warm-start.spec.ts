import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { eventually, pidsWithArg } from '../../__tests__/processes';
import { createRuntimeDir } from '../../kernel/connection';
import { DdpGroup } from '../group';
import { newGroup, Recorder, run } from './recorder';

/** Spares warmed before any group started, with real ipykernel ranks and gloo: no mocks. */

describe('warming spares before a start', () => {
  let rootDir: string;
  let runtimeDir: string;
  let group: DdpGroup;
  let seen: Recorder;

  /** The spares' kernels (not their guards) now alive, by pid. */
  const spareKernels = (dir = runtimeDir) =>
    pidsWithArg(path.join(dir, 'kernel-spare')).filter(pid => {
      try {
        return !fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('guard.py');
      } catch {
        return false; // gone meanwhile
      }
    });
  const cwdOf = (pid: number) => fs.readlinkSync(`/proc/${pid}/cwd`);

  beforeAll(() => {
    rootDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-warm-')));
    fs.mkdirSync(path.join(rootDir, 'sub'));
    runtimeDir = createRuntimeDir();
    ({ group, seen } = newGroup(rootDir, { runtimeDir }));
  });

  afterAll(async () => {
    await group.stop();
    fs.rmSync(rootDir, { recursive: true, force: true });
    fs.rmSync(runtimeDir, { recursive: true, force: true });
  });

  it('a start takes the spares warmed for it: its ranks are those spares', async () => {
    const warming = await group.warm({ ranks: 2 });
    expect(warming).toMatchObject({ kernelName: 'python3', size: 2, spares: 2 });
    expect(warming.expiresAt).toEqual(expect.any(Number));
    expect(group.summary()).toEqual({ state: 'stopped', worldSize: 0, device: null });
    expect(await group.sparesSettled()).toBe(2);
    expect(group.warmInfo()).toMatchObject({ size: 2, spares: 2, warm: 2 });
    const spares = spareKernels();
    expect(spares).toHaveLength(2);

    const started = await group.start({ ranks: 2 });
    expect(started).toMatchObject({ state: 'ready', worldSize: 2, backend: 'gloo' });
    expect(started.ranks.map(r => r.pid).sort()).toEqual([...spares].sort());
    const { stdout } = await run(
      group,
      seen,
      'import os, torch, torch.distributed as dist\nt = torch.tensor([1.0])\ndist.all_reduce(t)\nprint(os.environ["RANK"], dist.get_world_size(), t.item())'
    );
    expect(stdout).toEqual({ 0: '0 2 2.0\n', 1: '1 2 2.0\n' });

    // The group now keeps spares of its own, for restarts, with no time limit.
    expect(await group.sparesSettled()).toBe(2);
    expect(group.warmInfo()).toMatchObject({ size: 2, warm: 2, expiresAt: null });
    await expect(group.warm({ ranks: 2 })).rejects.toThrow(
      'group "default" is already ready; it keeps its own spares'
    );
    await group.stop();
    expect(await eventually(() => pidsWithArg(runtimeDir).length === 0, 5_000)).toBe(true);
    expect(group.warmInfo()).toEqual({
      kernelName: null,
      size: 0,
      spares: 0,
      warm: 0,
      expiresAt: null
    });
  });

  it('keeps at most one group’s ranks, of one recipe: another recipe replaces them', async () => {
    await group.warm({ ranks: 3 });
    expect(await group.sparesSettled()).toBe(3);
    const first = spareKernels();
    expect(first).toHaveLength(3);
    // the same again starts nothing; fewer ranks end the extra spares
    expect(await group.warm({ ranks: 3 })).toMatchObject({ size: 3, spares: 3, warm: 3 });
    expect(spareKernels().sort()).toEqual([...first].sort());
    await group.warm({ ranks: 2 });
    expect(await eventually(() => spareKernels().length === 2, 5_000)).toBe(true);
    expect(first).toEqual(expect.arrayContaining(spareKernels()));

    // another folder is another recipe: its spares replace the others
    expect(await group.warm({ ranks: 2, cwd: 'sub' })).toMatchObject({ size: 2, spares: 2 });
    expect(await group.sparesSettled()).toBe(2);
    expect(await eventually(() => spareKernels().length === 2, 5_000)).toBe(true);
    const second = spareKernels();
    expect(second.some(pid => first.includes(pid))).toBe(false);
    expect(second.map(cwdOf)).toEqual([path.join(rootDir, 'sub'), path.join(rootDir, 'sub')]);

    await group.stop();
    expect(await eventually(() => pidsWithArg(runtimeDir).length === 0, 5_000)).toBe(true);
  });

  it('refuses to warm no spares', async () => {
    await expect(group.warm({ spares: false })).rejects.toMatchObject({ field: 'spares' });
    expect(group.warmInfo().size).toBe(0);
  });

  it('ends spares that no start took after the idle time limit', async () => {
    const idleRuntime = createRuntimeDir();
    const idle = newGroup(rootDir, { runtimeDir: idleRuntime, warmIdleMs: 3_000 }).group;
    try {
      expect((await idle.warm({ ranks: 1 })).expiresAt).toEqual(expect.any(Number));
      expect(await eventually(() => spareKernels(idleRuntime).length === 1, 10_000)).toBe(true);
      expect(await eventually(() => pidsWithArg(idleRuntime).length === 0, 30_000)).toBe(true);
      expect(idle.warmInfo()).toMatchObject({ size: 0, spares: 0, expiresAt: null });
    } finally {
      await idle.stop();
      fs.rmSync(idleRuntime, { recursive: true, force: true });
    }
  });
});

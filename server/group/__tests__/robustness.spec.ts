import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { eventually } from '../../__tests__/processes';
import { DdpGroup, GroupEnvironment } from '../group';
import { newGroup, run, writeKernelSpec } from './recorder';

/**
 * A group that must never hang: stopped, blocked and straggling ranks, interrupts that collectives
 * ignore, lost replies, pasted torchrun code, a flood of queued cells. Real ipykernel ranks, gloo.
 */

/** The watch and the interrupt grace shortened, so that a test need not wait ten seconds. */
const QUICK: Partial<GroupEnvironment> = {
  watchTimes: { intervalMs: 300, unresponsiveMs: 1500, blockedMs: 1500 },
  interruptGraceMs: 1500
};

/** PyTorch's "Getting Started with Distributed Data Parallel" tutorial, as users paste it. */
const TUTORIAL = `
import os
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.optim as optim
from torch.nn.parallel import DistributedDataParallel as DDP

def setup(rank, world_size):
    os.environ['MASTER_ADDR'] = 'localhost'
    os.environ['MASTER_PORT'] = '12355'
    dist.init_process_group("gloo", rank=rank, world_size=world_size)

def cleanup():
    dist.destroy_process_group()

class ToyModel(nn.Module):
    def __init__(self):
        super(ToyModel, self).__init__()
        self.net1 = nn.Linear(10, 10)
        self.relu = nn.ReLU()
        self.net2 = nn.Linear(10, 5)

    def forward(self, x):
        return self.net2(self.relu(self.net1(x)))

def demo_basic(rank, world_size):
    print(f"Running basic DDP example on rank {rank}.")
    setup(rank, world_size)
    model = ToyModel()
    ddp_model = DDP(model)
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(ddp_model.parameters(), lr=0.001)
    optimizer.zero_grad()
    outputs = ddp_model(torch.randn(20, 10))
    labels = torch.randn(20, 5)
    loss_fn(outputs, labels).backward()
    optimizer.step()
    cleanup()
    print(f"Finished running basic DDP example on rank {rank}.")

demo_basic(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]))
`;

/** Listening TCP sockets of a process, as "address:port" (from /proc/PID/net and its fds). */
function listeningAddresses(pid: number): string[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    const link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`, { encoding: 'utf8' });
    const socket = /^socket:\[(\d+)\]$/.exec(link);
    if (socket) {
      inodes.add(socket[1]);
    }
  }
  const found: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    for (const line of fs.readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // st 0A is LISTEN; the inode is the tenth column
      if (cols.length > 9 && cols[3] === '0A' && inodes.has(cols[9])) {
        found.push(cols[1]);
      }
    }
  }
  return found;
}

/** /proc's hex address of a socket is loopback: 127.x.x.x (little-endian) or ::1 or ::ffff:127.x. */
function isLoopback(hexAddress: string): boolean {
  const ip = hexAddress.split(':')[0];
  return ip.length === 8
    ? ip.endsWith('7F')
    : ip === '00000000000000000000000001000000' || /^0000000000000000FFFF0000..0000.7F$/i.test(ip);
}

describe('a group that never hangs', () => {
  let rootDir: string;
  let specDir: string;
  const groups: DdpGroup[] = [];
  const originalJupyterPath = process.env.JUPYTER_PATH;

  beforeAll(() => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-robust-'));
    specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-specs-'));
    // Kernelspecs whose rank 1 stops itself (SIGSTOP) as it starts importing torch, or says why
    // and exits as it starts.
    writeKernelSpec(specDir, 'stops-on-torch', {
      'sitecustomize.py': [
        'import os, signal, sys',
        'class _StopOnTorch:',
        '    def find_spec(self, name, path=None, target=None):',
        '        if name == "torch" and os.environ.get("RANK") == "1":',
        '            os.kill(os.getpid(), signal.SIGSTOP)',
        'sys.meta_path.insert(0, _StopOnTorch())',
        ''
      ].join('\n')
    });
    writeKernelSpec(specDir, 'dies-at-start', {
      'sitecustomize.py':
        'import os, sys\nif os.environ.get("RANK") == "1":\n    print("rank 1 cannot start here", file=sys.stderr)\n    os._exit(3)\n'
    });
    process.env.JUPYTER_PATH = specDir;
  });

  afterAll(async () => {
    await Promise.all(groups.map(g => g.stop()));
    process.env.JUPYTER_PATH = originalJupyterPath;
    fs.rmSync(rootDir, { recursive: true, force: true });
    fs.rmSync(specDir, { recursive: true, force: true });
  });

  function track(env: Partial<GroupEnvironment> = QUICK) {
    const made = newGroup(rootDir, env);
    groups.push(made.group);
    return made;
  }

  it('names a SIGSTOPped rank while a cell runs, and forgets it once the rank goes on', async () => {
    const { group, seen } = track();
    const info = await group.start({ ranks: 2, spares: false });
    const { id } = group.execute({ code: 'import time; time.sleep(4)' });
    process.kill(info.ranks[1].pid!, 'SIGSTOP');
    try {
      expect(
        await eventually(() => (group.summary().problems ?? []).some(p => p.rank === 1), 10_000)
      ).toBe(true);
      expect(group.summary()).toMatchObject({
        state: 'busy',
        problems: [{ rank: 1, kind: 'unresponsive', message: expect.stringMatching(/^rank 1 /) }]
      });
      expect(seen.groups.at(-1)?.problems?.[0]?.kind).toBe('unresponsive');
    } finally {
      process.kill(info.ranks[1].pid!, 'SIGCONT');
    }
    expect(await eventually(() => seen.executions.get(id)?.status === 'ok', 15_000)).toBe(true);
    expect(group.summary().problems).toBeUndefined();
    expect(group.summary().state).toBe('ready');
    await group.stop();
  });

  it('tells a rank whose Python holds the GIL from a stopped one', async () => {
    const { group } = track();
    await group.start({ ranks: 2, spares: false, initProcessGroup: false });
    // The regular expression engine never lets go of the GIL: the heartbeat thread still echoes.
    group.execute({
      code: 'import os, re\nif os.environ["RANK"] == "1":\n    re.match(r"(a+)+$", "a" * 40 + "b")'
    });
    expect(
      await eventually(() => (group.summary().problems ?? []).some(p => p.rank === 1), 10_000)
    ).toBe(true);
    expect(group.summary().problems).toEqual([
      expect.objectContaining({ rank: 1, kind: 'blocked' })
    ]);
    await group.stop();
  });

  it('an interrupt that a collective ignores is reported, and a restart ends the cell as aborted', async () => {
    const { group, seen } = track();
    await group.start({ ranks: 2, spares: false });
    // Rank 1 waits in a barrier that rank 0 never calls: rank 0 finishes, rank 1 straggles.
    const { id } = group.execute({
      code: 'import torch.distributed as dist\nif dist.get_rank() == 1:\n    dist.barrier()'
    });
    expect(await eventually(() => seen.executions.get(id)?.rankStatus[0] === 'ok', 10_000)).toBe(
      true
    );
    const straggling = seen.executions.get(id)!;
    expect(straggling.status).toBe('running');
    expect(Object.keys(straggling.rankEndedAt)).toEqual(['0']);
    expect(straggling.rankEndedAt[0]).toBeGreaterThanOrEqual(straggling.startedAt);

    await group.interrupt();
    expect(
      await eventually(() => seen.executions.get(id)?.interruptIgnored !== undefined, 10_000)
    ).toBe(true);
    expect(seen.executions.get(id)).toMatchObject({ status: 'running', interruptIgnored: [1] });
    expect(group.summary().problems).toEqual([
      expect.objectContaining({ rank: 1, kind: 'interrupt-ignored' })
    ]);

    await group.restart();
    expect(seen.executions.get(id)).toMatchObject({
      status: 'aborted',
      failure: 'the group was restarted',
      rankStatus: { 0: 'ok', 1: 'aborted' }
    });
    expect(group.summary()).toEqual({ state: 'ready', worldSize: 2, device: 'cpu' });
    await group.stop();
  });

  it('a rank that goes idle without replying after an interrupt ends its part of the cell', async () => {
    const { group, seen } = track();
    await group.start({ ranks: 2, spares: false, initProcessGroup: false });
    // ipykernel drops the reply when an interrupt lands while it sends it; here rank 1 drops
    // the interrupted cell's own execute_reply for real.
    const { id } = group.execute({
      code: [
        'import os, time',
        'print("done", flush=True)',
        'if os.environ["RANK"] == "1":',
        '    _k = get_ipython().kernel',
        '    _send = _k.session.send',
        '    _drop = [True]',
        '    def _dropping(stream, msg, *a, **kw):',
        '        if msg == "execute_reply" and _drop:',
        '            _drop.pop()',
        '            return None',
        '        return _send(stream, msg, *a, **kw)',
        '    _k.session.send = _dropping',
        '    time.sleep(60)'
      ].join('\n')
    });
    const printed = (rank: number) =>
      seen.outputs.some(
        o => o.execution === id && o.rank === rank && String(o.content.text).includes('done')
      );
    expect(await eventually(() => printed(0) && printed(1), 30_000)).toBe(true);
    expect(await eventually(() => seen.executions.get(id)?.rankStatus?.[0] === 'ok', 30_000)).toBe(
      true
    );
    await group.interrupt();
    expect(await eventually(() => seen.executions.get(id)?.status !== 'running', 30_000)).toBe(
      true
    );
    expect(seen.executions.get(id)).toMatchObject({
      status: 'aborted',
      rankStatus: { 0: 'ok', 1: 'aborted' }
    });
    expect(group.summary().state).toBe('ready');
    const after = await run(group, seen, 'print("again")');
    expect(after.summary.status).toBe('ok');
    await group.stop();
  });

  it("runs PyTorch's DDP tutorial unchanged, its own init and destroy included", async () => {
    const { group, seen } = track();
    const info = await group.start({ ranks: 2, spares: false });
    const port = await run(group, seen, 'import os; print(os.environ["MASTER_PORT"])');
    const tutorial = await run(group, seen, TUTORIAL);
    expect(tutorial.summary.status).toBe('ok');
    const printed = (name: string) =>
      tutorial.events
        .filter(e => e.rank === 1 && e.msgType === 'stream' && e.content.name === name)
        .map(e => String(e.content.text))
        .join('');
    expect(printed('stdout')).toBe(
      'Running basic DDP example on rank 1.\nFinished running basic DDP example on rank 1.\n'
    );
    expect(printed('stderr')).toMatch(
      /^jupyter-ddp: the process group is already initialised \(gloo, 2 ranks\)/
    );
    // The tutorial destroyed the group; the next cell has one again, on the same rendezvous, and
    // torchrun's variables name our group, not the tutorial's port.
    const after = await run(group, seen, `${ALL_REDUCE}\nprint(os.environ["MASTER_PORT"])`);
    expect(after.stdout[0]).toBe(`sum 3.0\n${port.stdout[0]}`);
    // A second run of the tutorial, and a script's own init after a destroy, work the same.
    expect((await run(group, seen, TUTORIAL)).summary.status).toBe('ok');
    const reinit = await run(
      group,
      seen,
      `dist.destroy_process_group()\ndist.init_process_group("gloo")\n${ALL_REDUCE}`
    );
    expect(reinit.stdout).toEqual({ 0: 'sum 3.0\n', 1: 'sum 3.0\n' });
    expect(info.ranks.every(r => r.alive)).toBe(true);
    await group.stop();
  });

  it('refuses an init_process_group that cannot be this group, saying why', async () => {
    const { group, seen } = track();
    await group.start({ ranks: 2, spares: false });
    const wrongSize = await run(
      group,
      seen,
      'import torch.distributed as dist\ndist.init_process_group("gloo", rank=0, world_size=4)',
      [0]
    );
    const error = wrongSize.events.find(e => e.msgType === 'error');
    expect(String(error?.content.evalue)).toMatch(
      /^jupyter-ddp: world_size=4 but this group has 2 ranks; restart the group with 4 ranks/
    );
    const fileStore = await run(
      group,
      seen,
      'dist.init_process_group("gloo", init_method="file:///tmp/x", rank=0, world_size=2)',
      [0]
    );
    expect(String(fileStore.events.find(e => e.msgType === 'error')?.content.evalue)).toMatch(
      /init_method='file:\/\/\/tmp\/x' would make a second rendezvous/
    );
    expect((await run(group, seen, ALL_REDUCE)).stdout[1]).toBe('sum 3.0\n');
    await group.stop();
  });

  it('listens on no interface but loopback', async () => {
    const { group } = track();
    const info = await group.start({ ranks: 2, spares: false });
    const addresses = info.ranks.flatMap(r => listeningAddresses(r.pid!));
    expect(addresses.length).toBeGreaterThan(0); // the kernels' own ZeroMQ sockets at least
    expect(addresses.filter(a => !isLoopback(a))).toEqual([]);
    await group.stop();
  });

  it('removes transfer files whose writer died, at start and at stop', async () => {
    const { group } = track();
    // A real writer that died mid-transfer: a process that wrote its file and was killed.
    const stale = () => {
      const writer = spawnSync('/bin/sh', ['-c', 'echo $$']);
      const file = path.join(
        '/dev/shm',
        `jupyter-ddp-pull-${String(writer.stdout).trim()}-${'ab'.repeat(8)}`
      );
      fs.writeFileSync(file, 'half a pickle');
      return file;
    };
    const beforeStart = stale();
    await group.start({ ranks: 1, spares: false, initProcessGroup: false });
    expect(fs.existsSync(beforeStart)).toBe(false);
    const beforeStop = stale();
    await group.stop();
    expect(fs.existsSync(beforeStop)).toBe(false);
  });

  it('ends every one of 1000 queued executions with all its output, and is busy until then', async () => {
    const { group, seen } = track();
    await group.start({ ranks: 2, spares: false, initProcessGroup: false });
    const ids = Array.from({ length: 1000 }, (_, i) => group.execute({ code: `print(${i})` }).id);
    const states = new Set<string>();
    const done = () => ids.every(id => seen.executions.get(id)?.status === 'ok');
    const deadline = Date.now() + 300_000;
    while (!done() && Date.now() < deadline) {
      states.add(group.summary().state);
      await new Promise(r => setTimeout(r, 50));
    }
    expect(done()).toBe(true);
    expect(states).toEqual(new Set(['busy']));
    expect(group.summary().state).toBe('ready');
    for (const [i, id] of ids.entries()) {
      const text = (rank: number) =>
        seen.outputs
          .filter(o => o.execution === id && o.rank === rank && o.msgType === 'stream')
          .map(o => String(o.content.text))
          .join('');
      expect([text(0), text(1)]).toEqual([`${i}\n`, `${i}\n`]);
    }
    await group.stop();
  }, 320_000);

  it('fails a start whose rank stops answering, naming it; concurrent stops are conflicts', async () => {
    const { group } = track({ ...QUICK, startStepTimeoutMs: 4000 });
    // Rank 1 stops itself while importing torch (SIGSTOP): the start must not wait for ever.
    const starting = group.start({ ranks: 2, spares: false, kernelName: 'stops-on-torch' });
    await expect(starting).rejects.toThrow(
      /^rank 1 answers no heartbeat \(stopped or frozen\?\) while importing torch; a restart will retry/
    );
    expect(group.summary()).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(/^rank 1 /)
    });

    // A rank that dies as it starts: named, with how it died, its last words and what to do.
    await expect(
      group.start({ ranks: 2, spares: false, kernelName: 'dies-at-start' })
    ).rejects.toThrow(
      'rank 1 exited (exit code 3) while starting; a restart will retry; its last output:\nrank 1 cannot start here'
    );
    expect(group.info()).toMatchObject({
      state: 'failed',
      error: 'rank 1 exited (exit code 3) while starting',
      notices: ['Last output of rank 1:\nrank 1 cannot start here']
    });

    const again = group.start({ ranks: 2, spares: false });
    await new Promise(r => setTimeout(r, 300));
    await group.stop();
    await expect(again).rejects.toThrow(/was stopped or restarted while it started/);
    expect(group.summary().state).toBe('stopped');
  });

  it('keeps a rank folder inside the served root, symlinks resolved', async () => {
    const { group } = track();
    fs.mkdirSync(path.join(rootDir, '..foo'));
    fs.symlinkSync('/etc', path.join(rootDir, 'etc-link'));
    await expect(group.start({ ranks: 1, cwd: 'etc-link' })).rejects.toThrow(
      'cwd "etc-link" is not a folder inside the served root'
    );
    expect(group.summary().state).toBe('stopped');
    const info = await group.start({
      ranks: 1,
      cwd: '..foo',
      spares: false,
      initProcessGroup: false
    });
    expect(info.state).toBe('ready');
    await group.stop();
  });
});

const ALL_REDUCE = `
import os, torch, torch.distributed as dist
t = torch.tensor([float(dist.get_rank() + 1)])
dist.all_reduce(t)
print(f"sum {t.item()}")`;

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { ExecutionSummary, OutputEvent } from '../../../src/protocol/api';
import { eventually } from '../../__tests__/processes';
import { KernelApi, kernelClientCode, serveKernelApi } from '../../http/kernel-api';
import { createRuntimeDir } from '../../kernel/connection';
import { Kernel } from '../../kernel/kernel';
import { getKernelSpec } from '../../kernel/kernelspec';
import { DdpGroup } from '../group';

/**
 * Push, pull and ddp.run as a notebook uses them: a real notebook kernel running the `ddp` client,
 * talking over HTTP to the group routes, and two real CPU ranks with gloo.
 */
describe('values between the notebook kernel and the ranks', () => {
  const runtimeDir = createRuntimeDir();
  let rootDir: string;
  let group: DdpGroup;
  let api: KernelApi;
  let notebook: Kernel;
  const outputs: OutputEvent[] = [];
  const executions = new Map<string, ExecutionSummary>();

  /** Run code in the notebook kernel; gives the str() of `expression` after it. */
  const local = async (code: string, expression = "''") =>
    notebook.evaluate(code, `str(${expression})`);

  /** Run a DDP cell; gives each rank's stdout and the error text of each failed rank. */
  async function onRanks(code: string) {
    const { id } = group.execute({ code });
    await eventually(() => executions.get(id)?.status !== 'running', 60_000);
    const text: Record<number, string> = {};
    for (const e of outputs.filter(o => o.execution === id)) {
      if (e.msgType === 'stream') {
        text[e.rank] = (text[e.rank] ?? '') + String(e.content.text);
      } else if (e.msgType === 'error') {
        text[e.rank] = (text[e.rank] ?? '') + `${e.content.ename}: ${e.content.evalue}`;
      }
    }
    return text;
  }

  /** Transfer files of these processes still in shared memory or tmp. */
  function leftovers(pids: number[]): string[] {
    return ['/dev/shm', os.tmpdir()].flatMap(dir =>
      fs
        .readdirSync(dir)
        .filter(f => f.startsWith('jupyter-ddp-') && pids.some(pid => f.includes(`-${pid}-`)))
    );
  }

  beforeAll(async () => {
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-transfers-'));
    group = new DdpGroup(
      'default',
      { rootDir, runtimeDir, python: '/usr/bin/python3' },
      {
        group: () => undefined,
        output: event => outputs.push(event),
        execution: summary => executions.set(summary.id, summary)
      }
    );
    await group.start({ ranks: 2, spares: false });
    api = await serveKernelApi({
      get: name => (name === 'default' ? group : undefined),
      names: () => ['default']
    });
    notebook = await Kernel.start({
      spec: await getKernelSpec('python3'),
      label: 'notebook kernel',
      runtimeDir,
      cwd: rootDir,
      env: {},
      python: '/usr/bin/python3',
      onIopub: () => undefined
    });
    await local(kernelClientCode(api.url, api.key, 'default'));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([group.stop(), notebook.kill(), api.close()]);
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  it('the notebook has ddp, which knows the group', async () => {
    expect(await local('', 'ddp.world_size')).toBe('2');
  });

  it('pushes a dict and a notebook-defined function, which every rank can call', async () => {
    await local(
      [
        'import os',
        'foobar = {1: "foo", 2: "bar"}',
        'def var_printer(f): print(f"Process [{os.getpid()}] variable is :{f}")',
        'ddp.push(foobar=foobar, var_printer=var_printer)'
      ].join('\n')
    );
    const text = await onRanks('import os\nvar_printer(foobar)');
    for (const rank of [0, 1]) {
      expect(text[rank]).toMatch(/^Process \[\d+\] variable is :\{1: 'foo', 2: 'bar'\}\n$/);
    }
  });

  it('pushes a 100 MiB tensor that every rank holds whole, on its own device', async () => {
    await local(
      'import torch\nbig = torch.arange(25 * 2**20, dtype=torch.float32)\nddp.push(big=big)'
    );
    const text = await onRanks(
      'import torch\nprint(big.numel() * 4 // 2**20, torch.equal(big, torch.arange(25 * 2**20, dtype=torch.float32)), big.device)'
    );
    expect(text[0]).toBe('100 True cpu\n');
    expect(text[1]).toBe(text[0]);
  });

  it('pulls a name from rank 0 by default and from the rank asked for', async () => {
    await onRanks('import os\nremote_pid = os.getpid()');
    const pids = group.info().ranks.map(r => String(r.pid));
    expect(await local('remote_pid = ddp.pull("remote_pid")', 'remote_pid')).toBe(pids[0]);
    expect(await local('remote_pid = ddp.pull("remote_pid", rank=1)', 'remote_pid')).toBe(pids[1]);
  });

  it('a push that fails on one rank changes no rank', async () => {
    await onRanks('kept = "before"');
    const failure = local(
      [
        'def _refuse():',
        '    import os',
        '    if os.environ["RANK"] == "1":',
        '        raise RuntimeError("rank 1 refuses")',
        '    return "fine"',
        'class Fussy:',
        '    def __reduce__(self):',
        '        return (_refuse, ())',
        'ddp.push(kept="after", fussy=Fussy())'
      ].join('\n')
    );
    await expect(failure).rejects.toThrow(
      'push failed, no rank was changed: rank 1: RuntimeError: rank 1 refuses'
    );
    const text = await onRanks('print(kept, "fussy" in globals())');
    expect(text).toEqual({ 0: 'before False\n', 1: 'before False\n' });
  });

  it('ddp.run returns one result per rank and names the rank that raised', async () => {
    expect(
      await local(
        'import os\nresults = ddp.run(lambda k: int(os.environ["RANK"]) * k, 10)',
        'results'
      )
    ).toBe('[0, 10]');
    const failure = local(
      [
        'def boom():',
        '    import os',
        '    if os.environ["RANK"] == "1":',
        '        raise ValueError("only rank 1 fails")',
        '    return 1',
        'ddp.run(boom)'
      ].join('\n')
    );
    await expect(failure).rejects.toThrow(
      /DdpRankError: rank 1 raised ValueError: only rank 1 fails/
    );
  });

  it('ddp.run functions find names the ranks defined, before what they brought along', async () => {
    await onRanks('rank_only = int(os.environ["RANK"]) + 100\nshadowed = "rank"');
    expect(
      await local(
        [
          'shadowed = "notebook"',
          'brought = 7',
          'def uses_rank_names():',
          '    return rank_only, shadowed, brought',
          'found = ddp.run(uses_rank_names)'
        ].join('\n'),
        'found'
      )
    ).toBe("[(100, 'rank', 7), (101, 'rank', 7)]");
    // and what it assigns as a global lands in the rank's namespace
    await local(
      'def keeps():\n    global kept_here\n    kept_here = rank_only * 2\nddp.run(keeps)'
    );
    expect(await onRanks('print(kept_here)')).toEqual({ 0: '200\n', 1: '202\n' });
  });

  it('pulls a DistributedDataParallel model as its module, and says so', async () => {
    await onRanks(
      'import torch\nfrom torch.nn.parallel import DistributedDataParallel as DDP\nwrapped = DDP(torch.nn.Linear(3, 2))'
    );
    expect(
      await local(
        'import io, contextlib\nsaid = io.StringIO()\nwith contextlib.redirect_stdout(said):\n    pulled = ddp.pull("wrapped")',
        '(type(pulled).__name__, tuple(pulled.weight.shape), said.getvalue().strip())'
      )
    ).toBe(
      "('Linear', (2, 3), 'jupyter-ddp: wrapped is a DistributedDataParallel on rank 0: pulled wrapped.module')"
    );
  });

  it('Ddip magics push names from the notebook and pull them back into it', async () => {
    await local('shared = [1, 2, 3]\n__jupyter_ddp__.magic_push(["shared"])');
    expect(await onRanks('shared.append(int(os.environ["RANK"]))\nprint(shared)')).toEqual({
      0: '[1, 2, 3, 0]\n',
      1: '[1, 2, 3, 1]\n'
    });
    expect(await local('__jupyter_ddp__.magic_pull(["shared"], rank=1)', 'shared')).toBe(
      '[1, 2, 3, 1]'
    );
  });

  it('says which name, rank or object is wrong, and changes nothing', async () => {
    await expect(local('ddp.pull("no_such_name")')).rejects.toThrow(
      'DdpError: name no_such_name is not defined on rank 0'
    );
    await expect(local('ddp.pull("remote_pid", rank=5)')).rejects.toThrow(
      'DdpError: rank 5 does not exist: group "default" has ranks 0-1'
    );
    await expect(local('import threading\nddp.push(lock=threading.Lock(), n=1)')).rejects.toThrow(
      "ValueError: cannot send `lock`: TypeError: cannot pickle '_thread.lock' object"
    );
    await expect(local('__jupyter_ddp__.magic_push(["undefined_here"])')).rejects.toThrow(
      'NameError: %dipush: name undefined_here is not defined in the notebook'
    );
    expect(await onRanks('print("n" in globals(), "lock" in globals())')).toEqual({
      0: 'False False\n',
      1: 'False False\n'
    });
  });

  it('leaves no transfer file behind', async () => {
    const notebookPid = Number(await local('import os', 'os.getpid()'));
    const pids = [...group.info().ranks.map(r => r.pid!), notebookPid];
    expect(leftovers(pids)).toEqual([]);
  });
});

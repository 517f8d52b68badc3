import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { usageErrorOutput } from '../../../src/protocol/cell-plan';
import { PACKAGE_ROOT } from '../../package-root';
import { eventually, isRunning } from '../../__tests__/processes';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'jupyter-ddp.js');

type Mode = 'local' | 'ddp' | 'everywhere' | null;

function notebook(cells: [Mode, string][], auto = false) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      ...(auto ? { ddp: { auto: true } } : {})
    },
    cells: cells.map(([mode, source], i) => ({
      id: `cell-${i}`,
      cell_type: 'code',
      metadata: mode ? { ddp: { mode } } : {},
      source,
      outputs: [],
      execution_count: null
    }))
  };
}

interface Output {
  output_type: string;
  text?: string;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

function errors(cell: { outputs: Output[] }): Output[] {
  return cell.outputs.filter(o => o.output_type === 'error');
}

function streamText(cell: { outputs: { output_type: string; text?: string }[] }): string {
  return cell.outputs
    .filter(o => o.output_type === 'stream')
    .map(o => o.text)
    .join('');
}

/** `jupyter-ddp run` as a user runs it: a real local kernel and real CPU ranks with gloo. */
describe('jupyter-ddp run', () => {
  let dir: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-run-'));
  });

  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function run(nb: object, args: string[] = []) {
    const input = path.join(dir, 'nb.ipynb');
    fs.writeFileSync(input, JSON.stringify(nb));
    const result = spawnSync(process.execPath, [BIN, 'run', input, '--ranks', '2', ...args], {
      encoding: 'utf8',
      timeout: 120_000
    });
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'nb.out.ipynb'), 'utf8'));
    return { result, cells: out.cells, metadata: out.metadata };
  }

  it('runs local, ddp and everywhere cells in order and writes their outputs', async () => {
    const { result, cells } = run(
      notebook([
        ['local', 'import os\nx = 1\nprint("local", x)\nprint("pid", os.getpid())'],
        [
          'ddp',
          'import os, torch.distributed as dist\nprint("rank", dist.get_rank(), "of", dist.get_world_size())\nprint("pid", os.getpid())'
        ],
        ['everywhere', 'import os\ny = os.environ.get("RANK", "local")\nprint("y =", y)'],
        [null, 'print(y)'],
        ['ddp', 'print(y)\ny']
      ])
    );
    expect(result.stderr).toContain('5/5 cell 5 [ddp] ok');
    expect(result.status).toBe(0);
    expect(streamText(cells[0])).toMatch(/^local 1\npid \d+\n$/);
    expect(streamText(cells[1])).toMatch(/^rank 0 of 2\npid \d+\n$/);
    expect(streamText(cells[2])).toBe('y = local\ny = 0\n');
    expect(streamText(cells[3])).toBe('local\n');
    expect(streamText(cells[4])).toBe('0\n');
    expect(cells[4].outputs[1]).toMatchObject({
      output_type: 'execute_result',
      data: { 'text/plain': "'0'" }
    });
    expect(cells[0].execution_count).toBe(1);
    // A DDP cell's count is the ranks', as the UI marks it (its prompt reads [rN]); a local one's not.
    expect(cells[1].metadata.ddp).toEqual({ mode: 'ddp', ranksCount: cells[1].execution_count });
    expect(cells[0].metadata.ddp).not.toHaveProperty('ranksCount');

    // Every process the run started is gone.
    const pids = [cells[0], cells[1]].map(c => Number(/pid (\d+)/.exec(streamText(c))![1]));
    expect(await eventually(() => pids.every(pid => !isRunning(pid)), 5_000)).toBe(true);
  });

  it("reads Ddip's magics like the UI: %%dip, %dipush, %dipull, %autodip, ddp.run", () => {
    const { result, cells } = run(
      notebook([
        [null, '%load_ext Ddip\n%makedip -g all'],
        [null, '%%dip everywhere\nimport os'],
        [null, 'def double(v): return 2 * v\ndata = {"a": 1}\n%dipush double data'],
        [
          null,
          '%%dip --see all\nresult = double(data["a"]) + int(os.environ["RANK"])\nprint(result)'
        ],
        [null, '%dipull -r 1 result\nprint("pulled", result)'],
        [null, '%autodip on\nprint("auto", os.environ["RANK"])'],
        [null, '#dip_locally\nprint(ddp.run(lambda: int(os.environ["RANK"])), ddp.world_size)']
      ])
    );
    expect(result.stderr).toContain('7/7 cell 7 [local] ok');
    expect(result.status).toBe(0);
    // The line the UI prints for a %makedip.
    expect(streamText(cells[0])).toMatch(
      /^DDP: 2 x CPU ready \(gloo\): rank 0 pid \d+, rank 1 pid \d+\n$/
    );
    expect(streamText(cells[3])).toBe('[rank 0] 2\n[rank 1] 3\n');
    expect(streamText(cells[4])).toBe('pulled 3\n');
    expect(streamText(cells[5])).toBe('auto 0\nAuto-DDP is on: unmarked cells run on the ranks.\n');
    expect(streamText(cells[6])).toBe('[0, 1] 2\n');
  });

  it('refuses a cell with a bad magic flag, running nothing of it', () => {
    const { result, cells } = run(notebook([[null, 'print("ran")\n%dipull --bogus x']]));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      'cell 1 [local] failed UsageError: %dipull: unknown flag --bogus'
    );
    expect(cells[0].outputs).toEqual([
      expect.objectContaining({ output_type: 'error', ename: 'UsageError' })
    ]);
  });

  it('starts N CPU ranks for %makedip -c N, as the UI does, whatever --ranks says', () => {
    const { result, cells } = run(
      notebook([
        [null, '%makedip -c 3'],
        ['ddp', 'import torch.distributed as dist\nprint(dist.get_world_size())']
      ]),
      ['--ranks', '4']
    );
    expect(result.stderr).toContain('2/2 cell 2 [ddp] ok');
    expect(streamText(cells[0])).toMatch(
      /^DDP: 3 x CPU ready \(gloo\): rank 0 pid \d+, rank 1 pid \d+, rank 2 pid \d+\n$/
    );
    expect(streamText(cells[1])).toBe('3\n');
  });

  it("refuses a cell whose ddp.show is bad with the UI's usage error, naming the value", () => {
    const nb = notebook([['ddp', 'print("ran")']]);
    (nb.cells[0] as { metadata: object }).metadata = { ddp: { mode: 'ddp', show: 'everyone' } };
    const { result, cells } = run(nb);
    const message =
      'cell metadata ddp.show must be "all", "rank0" or a list of ranks such as [0, 2], ' +
      'not "everyone"';
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`cell 1 [ddp] failed UsageError: ${message}`);
    // What the UI puts in the cell (protocol/cell-plan.ts builds both).
    expect(cells[0].outputs).toEqual([usageErrorOutput(message)]);
  });

  it('keeps %autodip in the notebook metadata it writes, as the UI saves it', () => {
    const { result, cells, metadata } = run(
      notebook([
        [null, '%autodip on --see all'],
        [null, 'import os; print(os.environ["RANK"])']
      ])
    );
    expect(result.status).toBe(0);
    expect(streamText(cells[1])).toBe('[rank 0] 0\n[rank 1] 1\n');
    expect(metadata.ddp).toEqual({ auto: true, show: 'all' });
  });

  it('sends unmarked cells to the ranks under auto-DDP, keeping local-marked ones local', () => {
    const { result, cells } = run(
      notebook(
        [
          [null, 'import os; print(os.environ.get("RANK", "local"))'],
          ['local', 'import os; print(os.environ.get("RANK", "local"))']
        ],
        true
      )
    );
    expect(result.status).toBe(0);
    expect(streamText(cells[0])).toBe('0\n');
    expect(streamText(cells[1])).toBe('local\n');
  });

  it('stops at a failing cell, naming the cell and the rank, and keeps the outputs so far', () => {
    const { result, cells } = run(
      notebook([
        ['local', 'print("first")'],
        [
          'ddp',
          'import os\nprint("rank", os.environ["RANK"])\nif os.environ["RANK"] == "1":\n    raise ValueError("boom")'
        ],
        ['local', 'print("never")']
      ])
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('FAILED: cell 2 [ddp] failed on rank 1: ValueError: boom');
    expect(streamText(cells[0])).toBe('first\n');
    expect(streamText(cells[1])).toBe('rank 0\n');
    const error = cells[1].outputs.find((o: { output_type: string }) => o.output_type === 'error');
    expect(error).toMatchObject({ ename: 'ValueError', evalue: 'boom' });
    expect(error.traceback[0]).toContain('[rank 1]');
    expect(cells[2].outputs).toEqual([]);
  });

  it('fails a cell that exceeds --timeout, after interrupting it', () => {
    const { result, cells } = run(notebook([['ddp', 'import time\ntime.sleep(60)']]), [
      '--timeout',
      '2'
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cell 1 [ddp] failed on the ranks: timed out after 2 s');
    expect(cells[0].outputs.some((o: { ename?: string }) => o.ename === 'KeyboardInterrupt')).toBe(
      true
    );
  });

  it('starts the group when a local cell calls ddp before any DDP cell', () => {
    const { result, cells } = run(
      notebook([
        ['local', 'x = 5\nddp.push(x=x)\nprint(ddp.world_size, ddp.pull("x", rank=1))'],
        ['ddp', 'print(x + 1)']
      ])
    );
    expect(result.stderr).toContain('2/2 cell 2 [ddp] ok');
    expect(result.status).toBe(0);
    expect(streamText(cells[0])).toBe('2 5\n');
    expect(streamText(cells[1])).toBe('6\n');
  });

  it('puts the death of a rank into its cell: which rank, how it died', () => {
    const { result, cells } = run(
      notebook([
        [
          'ddp',
          'import os\nprint("rank", os.environ["RANK"], flush=True)\nif os.environ["RANK"] == "1":\n    os.kill(os.getpid(), 9)'
        ]
      ])
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('cell 1 [ddp] failed on the ranks: rank 1 exited (SIGKILL)');
    const [error] = errors(cells[0]);
    expect(error.evalue).toContain('rank 1 exited (SIGKILL)');
    expect(error.traceback!.join('\n')).toContain('rank 1 exited (SIGKILL)');
  });

  it('ends a cell hung in a collective at --timeout, writing the notebook with the failure', () => {
    const { result, cells } = run(
      notebook([
        [
          'ddp',
          'import torch, torch.distributed as dist\nprint("before", dist.get_rank(), flush=True)\nif dist.get_rank() == 1:\n    dist.barrier()  # rank 0 never comes'
        ],
        ['ddp', 'print("never")']
      ]),
      ['--timeout', '3']
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'cell 1 [ddp] failed on the ranks: timed out after 3 s; rank 1 did not end within 5 s of the interrupt'
    );
    expect(streamText(cells[0])).toBe('before 0\n');
    const [error] = errors(cells[0]);
    expect(error.evalue).toMatch(
      /^timed out after 3 s; rank 1 did not end .*the group was stopped$/
    );
    expect(cells[1].outputs).toEqual([]);
  });

  it('on Ctrl+C stops the running cell and writes its outputs so far and the failure', async () => {
    const input = path.join(dir, 'nb.ipynb');
    const started = path.join(dir, 'started');
    fs.writeFileSync(
      input,
      JSON.stringify(
        notebook([
          ['local', 'print("first")'],
          [
            'ddp',
            `import time\nprint("working", flush=True)\nopen(${JSON.stringify(started)}, "w").close()\ntime.sleep(600)`
          ],
          ['local', 'print("never")']
        ])
      )
    );
    const child = spawn(process.execPath, [BIN, 'run', input, '--ranks', '2'], {
      stdio: ['ignore', 'ignore', 'pipe']
    });
    let stderr = '';
    child.stderr.on('data', chunk => (stderr += chunk));
    const exit = new Promise<number | null>(resolve => child.once('exit', code => resolve(code)));
    expect(await eventually(() => fs.existsSync(started), 90_000)).toBe(true);
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(stderr).toContain('FAILED: cell 2 [ddp] failed on the ranks: interrupted (Ctrl+C)');
    const cells = JSON.parse(fs.readFileSync(path.join(dir, 'nb.out.ipynb'), 'utf8')).cells;
    expect(streamText(cells[0])).toBe('first\n');
    expect(streamText(cells[1])).toBe('working\n');
    expect(errors(cells[1]).map(e => e.ename)).toEqual(
      expect.arrayContaining(['KeyboardInterrupt', 'DdpGroupError'])
    );
    expect(errors(cells[1]).find(e => e.ename === 'DdpGroupError')!.evalue).toBe(
      'interrupted (Ctrl+C)'
    );
    expect(cells[2].outputs).toEqual([]);
  });

  it.each([
    [['--ranks', 'x'], /"x" is not a positive whole number/],
    [['--gpus', '0,,1'], /gpus/i],
    [['--timeout', '-1'], /"-1" is not a positive number of seconds/]
  ])('rejects bad flags %j', (args, message) => {
    const result = spawnSync(process.execPath, [BIN, 'run', 'nb.ipynb', ...args], {
      encoding: 'utf8'
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });

  it('rejects a missing or malformed notebook', () => {
    const missing = spawnSync(process.execPath, [BIN, 'run', path.join(dir, 'nope.ipynb')], {
      encoding: 'utf8'
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no such notebook');
    fs.writeFileSync(path.join(dir, 'bad.ipynb'), '{"cells": 3}');
    const bad = spawnSync(process.execPath, [BIN, 'run', path.join(dir, 'bad.ipynb')], {
      encoding: 'utf8'
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('is not an nbformat 4 notebook');
  });
});

// `node bench/gpu-train.mjs`: the same small DDP training loop (bench/gpu_train.py) on every GPU,
// as a script under torchrun and as a cell through a real `jupyter-ddp lab`; prints both step times
// and their ratio. Needs NVIDIA GPUs, and a Python (PYTHON, default /usr/bin/python3 or python3)
// with torch and CUDA; without a GPU it says so and exits 2, measuring nothing.
// For the GPU check kit (bench/gpu-kit): GPU_TRAIN_SERVER=run drives the headless `jupyter-ddp run`
// instead of `jupyter-ddp lab` (no jupyter_server needed); GPU_TRAIN_CPU_RANKS=N trains on N CPU
// ranks with gloo instead (its dry run); GPU_TRAIN_WIDTH sets the layers' width (default 4096).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import process from 'node:process';

import { end, endAll, Lab, logger, ROOT, spawnTracked } from './lib.mjs';

const RUNS = 3;
const STEPS = Number(process.env.GPU_TRAIN_STEPS ?? 200);
const WIDTH = Number(process.env.GPU_TRAIN_WIDTH ?? 4096);
const CPU_RANKS = Number(process.env.GPU_TRAIN_CPU_RANKS ?? 0);
const DEVICE = CPU_RANKS > 0 ? 'cpu' : 'cuda';
const BACKEND = CPU_RANKS > 0 ? 'gloo' : 'nccl';
const VIA = process.env.GPU_TRAIN_SERVER ?? 'lab';
const SCRIPT = path.join(ROOT, 'bench', 'gpu_train.py');
const MARK = 'GPU_TRAIN_RESULT ';
const log = logger('gpu-train');

function python() {
  if (process.env.PYTHON) {
    return process.env.PYTHON;
  }
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** The GPUs nvidia-smi lists; exits 2 with the reason when there are none. */
function gpusOrExit() {
  let listed = [];
  let reason = 'it lists no GPU';
  try {
    listed = execFileSync('nvidia-smi', ['--query-gpu=index,name', '--format=csv,noheader'], {
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'pipe']
    })
      .toString()
      .split('\n')
      .filter(line => /^\d+,/.test(line.trim()));
  } catch (err) {
    const detail = String(err.stderr || err.message)
      .trim()
      .split('\n')[0];
    reason = err.code === 'ENOENT' ? 'nvidia-smi is not installed' : `nvidia-smi failed: ${detail}`;
  }
  if (listed.length === 0) {
    process.stderr.write(
      `gpu-train: no NVIDIA GPU on this machine (${reason}). This benchmark trains on GPUs, so ` +
        'there is nothing to measure here; run it on a machine with one. Nothing was measured.\n'
    );
    process.exit(2);
  }
  return listed.map(line => line.trim());
}

function parseResult(text) {
  const line = text.split('\n').find(l => l.startsWith(MARK));
  if (!line) {
    throw new Error(`no ${MARK.trim()} line in the output:\n${text.slice(-2000)}`);
  }
  return JSON.parse(line.slice(MARK.length));
}

async function underTorchrun(gpus) {
  const results = [];
  for (let i = 0; i < RUNS; i++) {
    const proc = spawnTracked(
      python(),
      [
        '-m',
        'torch.distributed.run',
        '--standalone',
        `--nproc_per_node=${gpus}`, // torch 1.13 (Debian's) knows only this spelling
        // Debian's torch 1.13 on Python 3.11 reads torchrun's default redirects and tee ("0") as
        // None and fails; on CPU ranks (the kit's dry run) stderr goes to files and the console.
        ...(CPU_RANKS > 0 ? ['--redirects', '2', '--tee', '2'] : []),
        SCRIPT,
        '--steps',
        String(STEPS),
        '--width',
        String(WIDTH),
        '--device',
        DEVICE
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      'SIGTERM'
    );
    let out = '';
    proc.child.stdout.on('data', chunk => (out += chunk));
    proc.child.stderr.on('data', chunk => (out += chunk));
    const code = await new Promise(resolve => proc.child.once('exit', resolve));
    await end(proc);
    if (code !== 0) {
      throw new Error(`torchrun exited ${code}:\n${out.slice(-2000)}`);
    }
    results.push(parseResult(out));
    log(`torchrun ${i + 1}: ${results.at(-1).step_ms.toFixed(2)} ms a step`);
  }
  return results;
}

const CELL =
  'import runpy\n' +
  `train = runpy.run_path(${JSON.stringify(SCRIPT)}, run_name="gpu_train")["train"]\n` +
  `train(steps=${STEPS}, width=${WIDTH}, device="${DEVICE}")`;

async function throughOurServer(gpus) {
  const lab = new Lab();
  try {
    await lab.launch();
    const request = CPU_RANKS > 0 ? { ranks: CPU_RANKS } : { gpus: 'all' };
    const info = await lab.api('POST', '/ddp/api/groups/default', request);
    if (info.state !== 'ready' || info.backend !== BACKEND || info.worldSize !== gpus) {
      throw new Error(
        `the group is not a ${BACKEND} group of ${gpus} ranks: ${JSON.stringify(info)}`
      );
    }
    const code = CELL;
    const results = [];
    for (let i = 0; i < RUNS; i++) {
      let out = '';
      lab.sink = event => {
        if (event.rank === 0 && event.msgType === 'stream') {
          out += event.content.text;
        }
      };
      await lab.cell(code);
      lab.sink = null;
      results.push(parseResult(out));
      log(`jupyter-ddp ${i + 1}: ${results.at(-1).step_ms.toFixed(2)} ms a step`);
    }
    await lab.api('DELETE', '/ddp/api/groups/default');
    return results;
  } finally {
    await lab.close();
  }
}

/** The same cells through the headless `jupyter-ddp run` of a notebook of RUNS DDP cells. */
async function throughRunCommand(gpus) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-gpu-train-'));
  try {
    const cell = { cell_type: 'code', metadata: { ddp: { mode: 'ddp' } }, source: CELL };
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
      cells: Array.from({ length: RUNS }, (_, i) => ({ ...cell, id: `run-${i}`, outputs: [] }))
    };
    const input = path.join(dir, 'gpu-train.ipynb');
    const output = path.join(dir, 'gpu-train.out.ipynb');
    fs.writeFileSync(input, JSON.stringify(notebook));
    const where = CPU_RANKS > 0 ? ['--ranks', String(CPU_RANKS)] : ['--gpus', 'all'];
    const proc = spawnTracked(
      process.execPath,
      [path.join(ROOT, 'bin', 'jupyter-ddp.js'), 'run', input, '-o', output, ...where],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      'SIGTERM',
      dir
    );
    let said = '';
    proc.child.stdout.on('data', chunk => (said += chunk));
    proc.child.stderr.on('data', chunk => (said += chunk));
    const code = await new Promise(resolve => proc.child.once('exit', resolve));
    await end(proc);
    if (code !== 0) {
      throw new Error(`jupyter-ddp run exited ${code}:\n${said.slice(-2000)}`);
    }
    const cells = JSON.parse(fs.readFileSync(output, 'utf8')).cells;
    const results = cells.map(c =>
      parseResult(
        c.outputs
          .filter(o => o.output_type === 'stream')
          .map(o => (Array.isArray(o.text) ? o.text.join('') : o.text))
          .join('')
      )
    );
    for (const result of results) {
      if (result.backend !== BACKEND || result.world_size !== gpus) {
        throw new Error(
          `the cell ran on ${result.world_size} ${result.backend} ranks, not ${gpus} ${BACKEND} ones`
        );
      }
    }
    results.forEach((r, i) => log(`jupyter-ddp run ${i + 1}: ${r.step_ms.toFixed(2)} ms a step`));
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const gpus =
    CPU_RANKS > 0 ? Array.from({ length: CPU_RANKS }, (_, i) => `CPU rank ${i}`) : gpusOrExit();
  log(`${gpus.length} GPU(s): ${gpus.join('; ')}`);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => void endAll().then(() => process.exit(130)));
  }
  try {
    const torchrun = await underTorchrun(gpus.length);
    let ours;
    try {
      ours = await (VIA === 'run' ? throughRunCommand : throughOurServer)(gpus.length);
    } catch (err) {
      process.stdout.write(
        `torchrun: ${median(torchrun.map(r => r.step_ms)).toFixed(2)} ms a step (median of ${RUNS})\n` +
          `jupyter-ddp: failed, nothing measured: ${err.message}\n`
      );
      process.exitCode = 1;
      return;
    }
    const t = torchrun.map(r => r.step_ms);
    const o = ours.map(r => r.step_ms);
    const range = xs =>
      `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;
    process.stdout.write(
      [
        `${gpus.length} × ${torchrun[0].gpu}, ${STEPS} steps a run, median (min–max) of ${RUNS} runs:`,
        '',
        '| | step time (ms) |',
        '| --- | --- |',
        `| torchrun script | ${range(t)} |`,
        `| jupyter-ddp cell | ${range(o)} |`,
        `| jupyter-ddp ÷ torchrun | ${(median(o) / median(t)).toFixed(3)} |`,
        ''
      ].join('\n')
    );
  } finally {
    await endAll();
  }
}

main().catch(async err => {
  process.stderr.write(`gpu-train: failed: ${err.stack ?? err}\n`);
  await endAll();
  process.exit(1);
});

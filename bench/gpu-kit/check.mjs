// The Node half of the GPU check kit's `check` (bench/gpu-kit/check runs it from the unpacked
// bundle, as app/bench/check.mjs): the real server code (DdpGroup, the kernel API and the notebook
// kernel's `ddp` client) on this machine's GPU, or on CPU ranks with `--cpu`. Each step appends one
// line `STATUS<TAB>step<TAB>what it found` to the file GPU_KIT_STEPS; `check` prints them.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const APP = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { DdpGroup } = require(path.join(APP, 'server-lib/server/group/group.js'));
const { kernelClientCode, serveKernelApi } = require(
  path.join(APP, 'server-lib/server/http/kernel-api.js')
);
const { Kernel } = require(path.join(APP, 'server-lib/server/kernel/kernel.js'));
const { getKernelSpec } = require(path.join(APP, 'server-lib/server/kernel/kernelspec.js'));
const { createRuntimeDir } = require(path.join(APP, 'server-lib/server/kernel/connection.js'));

const CPU = process.argv.includes('--cpu');
const RANKS = CPU ? 2 : 1;
const BACKEND = CPU ? 'gloo' : 'nccl';
const PYTHON = process.env.GPU_KIT_PYTHON;
const STEPS_FILE = process.env.GPU_KIT_STEPS;
const GPU_TRAIN_TIMEOUT_MS = Number(process.env.GPU_KIT_TRAIN_TIMEOUT_S ?? 240) * 1000;

function record(status, step, detail) {
  const line = `${status}\t${step}\t${String(detail).replace(/\s*\n\s*/g, ' | ')}\n`;
  fs.appendFileSync(STEPS_FILE, line);
  process.stderr.write(`check: ${line}`);
}

/** Rejects after `ms` with a message naming the step, unless `promise` settles first. */
function within(ms, step, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step} took over ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const seconds = t0 => ((performance.now() - t0) / 1000).toFixed(1);

/** Every stream line that starts with `mark`, parsed, by rank, for one finished execution. */
function marked(outputs, id, mark) {
  const found = {};
  for (const e of outputs.filter(o => o.execution === id && o.msgType === 'stream')) {
    for (const line of String(e.content.text).split('\n')) {
      if (line.startsWith(mark)) {
        found[e.rank] = JSON.parse(line.slice(mark.length));
      }
    }
  }
  return found;
}

/** The rank errors of an execution, as text. */
function errors(outputs, id) {
  return outputs
    .filter(o => o.execution === id && o.msgType === 'error')
    .map(o => `rank ${o.rank}: ${o.content.ename}: ${o.content.evalue}`)
    .join('; ');
}

async function main() {
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-kit-root-'));
  const runtimeDir = createRuntimeDir();
  const outputs = [];
  const done = new Map();
  const group = new DdpGroup(
    'default',
    { rootDir, runtimeDir, python: PYTHON },
    {
      group: () => undefined,
      output: event => outputs.push(event),
      execution: summary => {
        if (summary.status !== 'running') {
          done.get(summary.id)?.(summary);
        }
      }
    }
  );
  let api = null;
  let notebook = null;

  /** A DDP cell on every rank; its summary once finished, or an error naming the failed ranks. */
  async function onRanks(code, step) {
    const { id } = group.execute({ code });
    const summary = await within(120_000, step, new Promise(resolve => done.set(id, resolve)));
    if (summary.status !== 'ok') {
      throw new Error(
        `the cell ended ${summary.status}: ${errors(outputs, id) || summary.failure}`
      );
    }
    return id;
  }

  const steps = [
    [
      'group',
      async () => {
        const t0 = performance.now();
        const request = CPU
          ? { ranks: RANKS, spares: false }
          : { gpus: 'all', ranks: RANKS, spares: false };
        const info = await within(180_000, 'starting the group', group.start(request));
        const want = {
          state: 'ready',
          backend: BACKEND,
          worldSize: RANKS,
          device: CPU ? 'cpu' : 'gpu'
        };
        for (const [key, value] of Object.entries(want)) {
          if (info[key] !== value) {
            throw new Error(`${key} is ${info[key]}, not ${value}: ${JSON.stringify(info)}`);
          }
        }
        const where = CPU
          ? 'CPU ranks'
          : `CUDA_VISIBLE_DEVICES=${info.ranks[0].cudaVisibleDevices}`;
        return `${RANKS}-rank ${BACKEND} group ready in ${seconds(t0)} s (${where})`;
      }
    ],
    [
      'cell',
      async () => {
        const code = [
          'import json, os, torch, torch.distributed as dist',
          `dev = torch.device("cuda", int(os.environ["LOCAL_RANK"])) if ${CPU ? 'False' : 'True'} else torch.device("cpu")`,
          't = torch.ones(4, device=dev) * (dist.get_rank() + 1)',
          'dist.all_reduce(t)',
          'name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"',
          'print("KIT_CELL " + json.dumps({"device": str(t.device), "want": str(dev), "values": t.tolist(), ' +
            '"backend": dist.get_backend(), "torch": torch.__version__, "name": name}))'
        ].join('\n');
        const id = await onRanks(code, 'the DDP cell');
        const found = marked(outputs, id, 'KIT_CELL ');
        const total = (RANKS * (RANKS + 1)) / 2;
        for (let rank = 0; rank < RANKS; rank++) {
          const r = found[rank];
          if (!r) {
            throw new Error(`rank ${rank} printed no result`);
          }
          if (r.device !== r.want || r.backend !== BACKEND || r.values.some(v => v !== total)) {
            throw new Error(
              `rank ${rank}: ${JSON.stringify(r)} (wanted ${total} on ${r.want} with ${BACKEND})`
            );
          }
        }
        const r0 = found[0];
        return `all_reduce on ${RANKS} rank(s) gave ${total} on ${Object.values(found)
          .map(r => r.device)
          .join(', ')} (torch ${r0.torch}, ${r0.name})`;
      }
    ],
    [
      'push-pull',
      async () => {
        api = await serveKernelApi({
          get: name => (name === 'default' ? group : undefined),
          names: () => ['default']
        });
        notebook = await within(
          120_000,
          'starting the notebook kernel',
          getKernelSpec('python3').then(spec =>
            Kernel.start({
              spec,
              label: 'notebook kernel',
              runtimeDir,
              cwd: rootDir,
              env: {},
              python: PYTHON,
              onIopub: () => undefined
            })
          )
        );
        await notebook.evaluate(kernelClientCode(api.url, api.key, 'default'), "''");
        const device = CPU ? 'cpu' : 'cuda';
        await within(
          120_000,
          'ddp.push',
          notebook.evaluate(
            `import torch\nx = torch.arange(6, dtype=torch.float32, device="${device}")\nddp.push(x=x)`,
            "''"
          )
        );
        const id = await onRanks(
          [
            'import json, os, torch, torch.distributed as dist',
            `want = torch.device("cuda", int(os.environ["LOCAL_RANK"])) if ${CPU ? 'False' : 'True'} else torch.device("cpu")`,
            'print("KIT_PUSH " + json.dumps({"device": str(x.device), "want": str(want), "values": x.tolist()}))',
            'y = x * 2 + dist.get_rank()'
          ].join('\n'),
          'the cell reading the pushed tensor'
        );
        const found = marked(outputs, id, 'KIT_PUSH ');
        for (let rank = 0; rank < RANKS; rank++) {
          const r = found[rank];
          if (!r || r.device !== r.want || r.values.join() !== '0,1,2,3,4,5') {
            throw new Error(`pushed tensor on rank ${rank}: ${JSON.stringify(r)}`);
          }
        }
        const pulled = JSON.parse(
          await within(
            120_000,
            'ddp.pull',
            notebook.evaluate(
              'import json\ny = ddp.pull("y", rank=0)',
              'json.dumps({"device": str(y.device), "values": y.tolist()})'
            )
          )
        );
        const want = CPU ? 'cpu' : 'cuda:0';
        if (pulled.device !== want || pulled.values.join() !== '0,2,4,6,8,10') {
          throw new Error(
            `pulled tensor ${JSON.stringify(pulled)}, wanted [0, 2, …, 10] on ${want}`
          );
        }
        return `pushed ${device} tensor landed on ${Object.values(found)
          .map(r => r.device)
          .join(', ')} (LOCAL_RANK's device); pulled back onto ${pulled.device}`;
      }
    ]
  ];

  let failed = false;
  try {
    for (const [name, run] of steps) {
      if (failed) {
        record('SKIP', name, 'an earlier step failed');
        continue;
      }
      try {
        record('PASS', name, await run());
      } catch (err) {
        failed = true;
        const notices = group.info().notices.join('\n');
        record(
          'FAIL',
          name,
          `${err.message ?? err}${notices ? `; the group says: ${notices}` : ''}`
        );
      }
    }
  } finally {
    await Promise.all([group.stop(), notebook?.kill(), api?.close()]);
    fs.rmSync(rootDir, { recursive: true, force: true });
  }
  record(...(failed ? ['SKIP', 'gpu-train', 'an earlier step failed'] : await gpuTrain()));
  return failed ? 1 : 0;
}

/** bench/gpu-train.mjs through the real `jupyter-ddp run`: torchrun's step time against a cell's. */
async function gpuTrain() {
  const env = { ...process.env, GPU_TRAIN_SERVER: 'run', PYTHON };
  if (CPU) {
    Object.assign(env, {
      GPU_TRAIN_CPU_RANKS: String(RANKS),
      GPU_TRAIN_WIDTH: '256',
      GPU_TRAIN_STEPS: '20'
    });
  }
  const child = spawn(process.execPath, [path.join(APP, 'bench', 'gpu-train.mjs')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  });
  let out = '';
  let err = '';
  child.stdout.on('data', chunk => (out += chunk));
  child.stderr.on('data', chunk => {
    err = (err + chunk).slice(-4000);
    process.stderr.write(chunk);
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), GPU_TRAIN_TIMEOUT_MS);
  const code = await new Promise(resolve => child.once('exit', (c, s) => resolve(c ?? s)));
  clearTimeout(timer);
  const row = label => new RegExp(`\\| ${label} \\| ([^|]+) \\|`).exec(out)?.[1].trim();
  const [torchrun, cell, ratio] = [
    'torchrun script',
    'jupyter-ddp cell',
    'jupyter-ddp ÷ torchrun'
  ].map(row);
  if (code !== 0 || !torchrun || !cell) {
    const why = (out + err).trim().split('\n').slice(-6).join('\n');
    return ['FAIL', 'gpu-train', `exited ${code}: ${why}`];
  }
  const header = out.split('\n')[0].replace(/:$/, '');
  return [
    'PASS',
    'gpu-train',
    `step ms, median (min–max): torchrun ${torchrun}, jupyter-ddp cell ${cell}, ratio ${ratio}; ${header}`
  ];
}

main().then(
  code => process.exit(code),
  err => {
    record('FAIL', 'check', err.stack ?? err);
    process.exit(1);
  }
);

// Shared by the benchmarks: the processes they start (and how every one of them is ended), and a
// client of a real `jupyter-ddp lab`.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A logger that stamps each line with the seconds since the bench started. */
export function logger(name) {
  const t0 = performance.now();
  return (...args) =>
    process.stderr.write(
      `[${name} +${((performance.now() - t0) / 1000).toFixed(0)}s] ${args.join(' ')}\n`
    );
}

// ---------------------------------------------------------------- processes we start, and ending them

/** Every process this bench started (each leads its own process group), with how to end it. */
const started = new Set();

/** pid → parent pid of every live process (Linux /proc). */
function parents() {
  const map = new Map();
  for (const entry of fs.readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) {
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        map.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
  }
  return map;
}

/** `pid` and every process below it. */
export function tree(pid) {
  const map = parents();
  const found = [pid];
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of map) {
      if (parent === found[i]) {
        found.push(child);
      }
    }
  }
  return found.filter(p => map.has(p));
}

/** Live pids whose command line contains `needle`. */
export function pidsWithArg(needle) {
  return [...parents().keys()].filter(pid => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
    } catch {
      return false;
    }
  });
}

function kill(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export function spawnTracked(command, args, options, politeSignal, needle) {
  const child = spawn(command, args, { ...options, detached: true });
  const entry = { child, politeSignal, needle };
  started.add(entry);
  return entry;
}

/** Ask politely, wait up to `graceMs`, then SIGKILL whatever of it is left (process tree and all). */
export async function end(entry, graceMs = 15_000) {
  const { child, politeSignal, needle } = entry;
  const pids = new Set(child.pid ? tree(child.pid) : []);
  if (child.exitCode === null && child.signalCode === null) {
    kill(child.pid, politeSignal);
    const exited = new Promise(resolve => child.once('exit', resolve));
    await Promise.race([exited, sleep(graceMs, null, { ref: false })]);
  }
  for (const pid of [...pids, ...(child.pid ? tree(child.pid) : [])]) {
    kill(pid, 'SIGKILL');
  }
  if (child.pid) {
    kill(-child.pid, 'SIGKILL');
  }
  // Kernels and engines leave their own process groups; their guards end them, but make sure.
  await sleep(500);
  for (const pid of needle ? pidsWithArg(needle) : []) {
    kill(pid, 'SIGKILL');
  }
  started.delete(entry);
}

export async function endAll() {
  await Promise.all([...started].map(entry => end(entry)));
}

// ---------------------------------------------------------------- /proc and ports

export function stat(pid) {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ticks: Number(fields[11]) + Number(fields[12]) };
}

export function rssMB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------- our server: the real CLI, REST and WebSocket

/**
 * A real `jupyter-ddp lab` (the CLI, with JUPYTER_TOKEN set) in a fresh folder, and a client of its
 * REST API and WebSocket.
 */
export class Lab {
  async launch() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ddp-bench-'));
    this.token = randomBytes(24).toString('hex');
    this.port = await freePort();
    this.base = `http://127.0.0.1:${this.port}`;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const t0 = performance.now();
    this.proc = spawnTracked(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'jupyter-ddp.js'),
        'lab',
        '--no-browser',
        '--port',
        String(this.port),
        '--notebook-dir',
        this.dir
      ],
      {
        cwd: this.dir,
        env: { ...process.env, JUPYTER_TOKEN: this.token },
        stdio: ['ignore', 'ignore', 'pipe']
      },
      'SIGTERM',
      this.dir
    );
    let stderr = '';
    this.proc.child.stderr.on('data', chunk => (stderr = (stderr + chunk).slice(-4000)));
    this.pid = this.proc.child.pid;
    for (;;) {
      if (this.proc.child.exitCode !== null) {
        throw new Error(`jupyter-ddp lab exited: ${stderr}`);
      }
      try {
        const health = await this.api('GET', '/ddp/api/health');
        if (health.status === 'ok') {
          break;
        }
      } catch {
        // not up yet
      }
      if (performance.now() - t0 > 60_000) {
        throw new Error(`jupyter-ddp lab did not answer within 60 s: ${stderr}`);
      }
      await sleep(100);
    }
    this.launchSeconds = (performance.now() - t0) / 1000;
    this.rssAtLaunch = rssMB(this.pid);
    await this.connect();
  }

  /** A REST call over a kept-alive connection, as a browser makes it. */
  api(method, route, body) {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { Authorization: `token ${this.token}` };
    if (data !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(data);
    }
    return new Promise((resolve, reject) => {
      const req = http.request(this.base + route, { method, headers, agent: this.agent }, res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', chunk => (text += chunk));
        res.on('end', () => {
          if (res.statusCode >= 200 && res.statusCode < 300) {
            resolve(JSON.parse(text));
          } else {
            reject(new Error(`${method} ${route}: ${res.statusCode} ${text}`));
          }
        });
      });
      req.on('error', reject);
      req.end(data);
    });
  }

  connect() {
    this.finished = new Map();
    this.waiters = new Map();
    this.replies = new Map();
    this.nextId = 0;
    this.sink = null;
    // as the JupyterLab extension connects (src/client/connection.ts)
    this.ws = new WebSocket(
      `ws://127.0.0.1:${this.port}/ddp/api/ws?omit=status&token=${this.token}`
    );
    this.ws.on('message', data => {
      const text = data.toString();
      const msg = JSON.parse(text);
      if (msg.type === 'output') {
        this.sink?.(msg.event, text.length);
      } else if (msg.type === 'executeReply') {
        this.replies.get(msg.id)?.(msg);
        this.replies.delete(msg.id);
      } else if (msg.type === 'execution' && msg.execution.status !== 'running') {
        const at = performance.now();
        const waiter = this.waiters.get(msg.execution.id);
        if (waiter) {
          this.waiters.delete(msg.execution.id);
          waiter({ at, execution: msg.execution });
        } else {
          this.finished.set(msg.execution.id, { at, execution: msg.execution });
        }
      }
    });
    return new Promise((resolve, reject) => {
      this.ws.once('message', () => resolve());
      this.ws.once('error', reject);
    });
  }

  /**
   * Run a cell on every rank as the extension does, with an `execute` on the WebSocket: ms from
   * sending it to the WebSocket's completion message.
   */
  async cell(code) {
    const t0 = performance.now();
    const requestId = this.nextId++;
    const reply = new Promise(resolve => this.replies.set(requestId, resolve));
    this.ws.send(
      JSON.stringify({ type: 'execute', id: requestId, group: 'default', request: { code } })
    );
    const answer = await reply;
    if (!answer.execution) {
      throw new Error(`execute: ${answer.status} ${answer.error.error}`);
    }
    const { id } = answer.execution;
    const done =
      this.finished.get(id) ?? (await new Promise(resolve => this.waiters.set(id, resolve)));
    this.finished.delete(id);
    if (done.execution.status !== 'ok') {
      throw new Error(`cell failed: ${JSON.stringify(done.execution)}`);
    }
    return done.at - t0;
  }

  /** End the server and everything it started; once is enough, twice does no harm. */
  async close() {
    this.ws?.close();
    this.agent?.destroy();
    const { proc, dir } = this;
    this.proc = this.dir = null;
    if (proc) {
      await end(proc);
    }
    if (dir) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

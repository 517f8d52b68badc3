import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';

import { warn } from '../log';
import { guarded } from '../process/guard';
import { killGroup, signalGroup, terminateGroup } from '../process/tree';
import { KernelChannels } from './channels';
import { allocateConnection, writeConnectionFile } from './connection';
import { Channel, JupyterMessage, MessageHeader, parentId } from './message';
import { KernelSpec } from './kernelspec';

export interface KernelOptions {
  spec: KernelSpec;
  /** Used in logs and the connection file's name, e.g. "rank-0". */
  label: string;
  /** Private (0700) folder for the connection file. */
  runtimeDir: string;
  cwd: string;
  /** Added to the server's environment and the kernelspec's own. */
  env: Record<string, string>;
  /** Python that runs the process guard (server/py/guard.py). */
  python: string;
  /** Called for every iopub message. */
  onIopub: (msg: JupyterMessage) => void;
  /** Aborting it while the kernel starts kills it, and start() rejects. */
  signal?: AbortSignal;
  /** How long start() waits for the kernel to answer before killing it (default 120 s). */
  readyTimeoutMs?: number;
}

/** How a kernel process ended. */
export interface KernelExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines the kernel wrote to stderr/stdout. */
  output: string[];
}

export class KernelDiedError extends Error {
  constructor(
    readonly label: string,
    readonly exit: KernelExit
  ) {
    super(`${label} exited (${describeExit(exit)})`);
  }
}

/** A kernel could not bind a port chosen for it: some other process took it meanwhile. */
class PortTakenError extends Error {}

export function describeExit(exit: KernelExit): string {
  return exit.signal ?? `exit code ${exit.code}`;
}

interface PendingExecution {
  header: MessageHeader;
  reply?: JupyterMessage;
  idle: boolean;
  /** An interrupt was sent while it ran: only then may its reply be lost. */
  interrupted: boolean;
  /** Set when idle came first: how long the reply may still take. */
  replyTimer?: NodeJS.Timeout;
  resolve: (reply: JupyterMessage) => void;
  reject: (err: Error) => void;
}

const OUTPUT_TAIL_LINES = 40;
const READY_TIMEOUT_MS = 120_000;
const HANDSHAKE_RETRY_MS = 100;
/** Starts of a kernel that found one of its ports taken (EADDRINUSE), before giving up. */
const START_ATTEMPTS = 3;
const ADDRESS_IN_USE = /Address already in use/;
/** At most this long from a kernel's exit to its pipes' end, for its last output lines. */
const STDIO_DRAIN_MS = 200;
/**
 * ipykernel sends a cell's execute_reply before its idle status, on another socket, so the two
 * arrive within moments of each other in either order. An interrupt that lands while the kernel
 * sends the reply makes ipykernel drop it: after an interrupt, a reply this late after idle never
 * comes. Without one it always comes, however loaded the machine: wait for it much longer.
 */
const REPLY_AFTER_IDLE_MS = 1000;
const REPLY_AFTER_IDLE_UNINTERRUPTED_MS = 60_000;

/**
 * One kernel process (under the guard, leading its own process group) and its channels.
 * `execute` resolves when both the execute_reply and the matching idle status have arrived, which
 * come in either order.
 */
export class Kernel {
  readonly exited: Promise<KernelExit>;
  private _exit: KernelExit | null = null;
  private _output: string[] = [];
  private _pending = new Map<string, PendingExecution>();
  private _replyWaiters = new Map<string, (msg: JupyterMessage) => void>();
  /** Requests awaiting a reply (request()), failed when the kernel exits. */
  private _requestFailers = new Map<string, (err: Error) => void>();
  private _channels!: KernelChannels;
  /** Sees iopub messages during the start-up handshake. */
  private _handshakeTap: ((msg: JupyterMessage) => void) | null = null;

  private constructor(
    private readonly _child: ChildProcess,
    private _options: KernelOptions,
    connectionFile: string
  ) {
    // Whole lines only: a line can come in several chunks (faulthandler writes word by word).
    const partial = { stdout: '', stderr: '' };
    const keep = (stream: keyof typeof partial) => (chunk: Buffer) => {
      const lines = (partial[stream] + chunk.toString()).split('\n');
      partial[stream] = lines.pop()!;
      this._output = [...this._output, ...lines.filter(Boolean)].slice(-OUTPUT_TAIL_LINES);
    };
    _child.stdout?.on('data', keep('stdout'));
    _child.stderr?.on('data', keep('stderr'));
    const closed = new Promise(resolve => _child.once('close', resolve));
    this.exited = new Promise(resolve => {
      _child.once('exit', async (code, signal) => {
        fs.rmSync(connectionFile, { force: true });
        // Its children go with it (they would hold its pipes open), and its last words, which
        // may still be in the pipes when 'exit' comes, are read before they are reported.
        killGroup(_child);
        await Promise.race([closed, new Promise(r => setTimeout(r, STDIO_DRAIN_MS))]);
        const unfinished = [partial.stdout, partial.stderr].filter(Boolean);
        this._exit = {
          code,
          signal,
          output: [...this._output, ...unfinished].slice(-OUTPUT_TAIL_LINES)
        };
        const err = new KernelDiedError(this._options.label, this._exit);
        for (const p of this._pending.values()) {
          p.reject(err);
        }
        this._pending.clear();
        for (const fail of [...this._requestFailers.values()]) {
          fail(err);
        }
        resolve(this._exit);
      });
    });
  }

  /**
   * Spawn the kernel and resolve once it answers on shell and publishes on iopub. Its ports are
   * found free here and bound by the kernel a moment later, as jupyter_client does it; should
   * another process take one meanwhile, the kernel says so (and exits, or hangs), and it is
   * started again on new ports.
   */
  static async start(options: KernelOptions): Promise<Kernel> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Kernel._startOnce(options);
      } catch (err) {
        if (!(err instanceof PortTakenError) || attempt === START_ATTEMPTS) {
          throw err;
        }
        warn(`${options.label}: one of its ports was taken before it could bind it; trying others`);
      }
    }
  }

  private static async _startOnce(options: KernelOptions): Promise<Kernel> {
    const info = await allocateConnection(options.spec.name);
    options.signal?.throwIfAborted();
    const connectionFile = writeConnectionFile(options.runtimeDir, options.label, info);
    const argv = options.spec.argv.map((a: string) =>
      a
        .replace('{connection_file}', connectionFile)
        .replace('{resource_dir}', options.spec.resourceDir)
    );
    // The guard removes the connection file (it holds the kernel's key) even if this server dies.
    const [command, args] = guarded(options.python, argv, 2, [connectionFile]);
    const child = spawn(command, args, {
      cwd: options.cwd,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        ...options.spec.env,
        PYDEVD_DISABLE_FILE_VALIDATION: '1',
        // As jupyter_client sets it: ipykernel then prints no "To connect another client…"
        // banner (which would be all a dead rank's last output shows).
        JPY_PARENT_PID: String(process.pid),
        ...options.env
      }
    });
    const kernel = new Kernel(child, options, connectionFile);
    kernel._channels = new KernelChannels(
      info,
      randomUUID(),
      (msg, channel) => kernel._route(msg, channel),
      options.label
    );
    const abort = () => void kernel.kill();
    options.signal?.addEventListener('abort', abort);
    try {
      await kernel._handshake();
    } catch (err) {
      await kernel.kill();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    return kernel;
  }

  /** Hand the kernel to a new owner (a warm spare becoming a rank): its name and iopub handler. */
  adopt(label: string, onIopub: (msg: JupyterMessage) => void): void {
    this._options = { ...this._options, label, onIopub };
  }

  get label(): string {
    return this._options.label;
  }

  /** The guard's pid, which is also the kernel's process group id. */
  get pid(): number | undefined {
    return this._child.pid;
  }

  get isAlive(): boolean {
    return this._exit === null;
  }

  get session(): string {
    return this._channels.session;
  }

  /**
   * Run code; resolves with the execute_reply once the kernel is idle again. Silent runs leave no
   * trace in the notebook (no execution count, no broadcast input).
   */
  execute(
    code: string,
    options: {
      silent?: boolean;
      userExpressions?: Record<string, string>;
      /** The request's metadata, which code in the kernel can read (kernel.get_parent()). */
      metadata?: Record<string, unknown>;
    } = {}
  ): { msgId: string; done: Promise<JupyterMessage> } {
    const header = this._channels.send(
      'shell',
      'execute_request',
      {
        code,
        silent: options.silent ?? false,
        store_history: !options.silent,
        user_expressions: options.userExpressions ?? {},
        allow_stdin: false,
        stop_on_error: true
      },
      undefined,
      options.metadata
    );
    const done = new Promise<JupyterMessage>((resolve, reject) => {
      if (this._exit) {
        reject(new KernelDiedError(this.label, this._exit));
      } else {
        this._pending.set(header.msg_id, {
          header,
          idle: false,
          interrupted: false,
          resolve,
          reject
        });
      }
    });
    return { msgId: header.msg_id, done };
  }

  /** Send a request and wait for its reply on the same channel. */
  request(
    channel: 'shell' | 'control',
    msgType: string,
    content: unknown,
    timeoutMs = 10_000
  ): Promise<JupyterMessage> {
    const header = this._channels.send(channel, msgType, content);
    return this._awaitReply(header, timeoutMs);
  }

  /** Interrupt the running code, as the kernelspec's interrupt_mode says. */
  async interrupt(): Promise<void> {
    for (const pending of this._pending.values()) {
      pending.interrupted = true;
    }
    if (this._options.spec.interruptMode === 'message') {
      await this.request('control', 'interrupt_request', {});
    } else {
      signalGroup(this._child, 'SIGINT');
    }
  }

  /** Whether the process answers a heartbeat (its heartbeat thread needs no GIL). */
  ping(): Promise<boolean> {
    return this._channels.ping();
  }

  /** Whether its Python answers on the control channel within `timeoutMs` (it needs the GIL). */
  async answersControl(timeoutMs: number): Promise<boolean> {
    try {
      await this.request('control', 'kernel_info_request', {}, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Evaluate a Python expression silently; its value must be a str, which is returned. Throws
   * with the Python error when the code or the expression fails.
   */
  async evaluate(code: string, expression: string): Promise<string> {
    const reply = await this.execute(code, { silent: true, userExpressions: { value: expression } })
      .done;
    const content = reply.content as {
      status: string;
      ename?: string;
      evalue?: string;
      user_expressions?: Record<
        string,
        { status: string; ename?: string; evalue?: string; data?: Record<string, string> }
      >;
    };
    const result = content.user_expressions?.value;
    if (content.status !== 'ok' || !result || result.status !== 'ok') {
      const failed = content.status !== 'ok' ? content : result;
      throw new Error(
        `${this.label}: ${failed?.ename ?? 'error'}: ${failed?.evalue ?? 'no value'}`
      );
    }
    // text/plain is the repr() of a str; callers keep their values free of quotes and escapes.
    return (result.data?.['text/plain'] ?? "''").slice(1, -1);
  }

  /** Ask politely (shutdown_request), then end the whole process group. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.isAlive) {
      this._channels.send('control', 'shutdown_request', { restart: false });
      await Promise.race([this.exited, new Promise(r => setTimeout(r, graceMs))]);
    }
    await this.kill();
  }

  /** End the kernel and everything it started, now. */
  async kill(): Promise<void> {
    await terminateGroup(this._child, 0);
    this._channels?.close();
  }

  private async _handshake(): Promise<void> {
    const timeoutMs = this._options.readyTimeoutMs ?? READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const asked = new Set<string>();
    let sawIopub = false;
    let sawReply = false;
    // IOPub drops what is published before our subscription connects: keep asking until the
    // status of one of our kernel_info requests arrives there.
    this._handshakeTap = msg => {
      if (asked.has(parentId(msg) ?? '')) {
        sawIopub = true;
      }
    };
    try {
      while (!(sawIopub && sawReply)) {
        // ipykernel prints the failed bind and, with some sockets already open, hangs rather than
        // exits: its output says so before its exit (if any) does.
        if (this._output.some(line => ADDRESS_IN_USE.test(line))) {
          throw new PortTakenError(`${this.label}: another process took one of its ports`);
        }
        if (this._exit) {
          throw new KernelDiedError(this.label, this._exit);
        }
        if (Date.now() > deadline) {
          const said = this._output.length ? `; its last output:\n${this._output.join('\n')}` : '';
          throw new Error(`${this.label} did not answer within ${timeoutMs / 1000} s${said}`);
        }
        const header = this._channels.send('shell', 'kernel_info_request', {});
        asked.add(header.msg_id);
        this._replyWaiters.set(header.msg_id, () => (sawReply = true));
        await new Promise(r => setTimeout(r, HANDSHAKE_RETRY_MS));
      }
    } finally {
      this._handshakeTap = null;
      for (const id of asked) {
        this._replyWaiters.delete(id);
      }
    }
  }

  private _awaitReply(header: MessageHeader, timeoutMs: number): Promise<JupyterMessage> {
    return new Promise((resolve, reject) => {
      if (this._exit) {
        reject(new KernelDiedError(this.label, this._exit));
        return;
      }
      const id = header.msg_id;
      const settle = () => {
        clearTimeout(timer);
        this._replyWaiters.delete(id);
        this._requestFailers.delete(id);
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`${this.label}: no reply to ${header.msg_type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this._replyWaiters.set(id, msg => {
        settle();
        resolve(msg);
      });
      this._requestFailers.set(id, err => {
        settle();
        reject(err);
      });
    });
  }

  private _route(msg: JupyterMessage, channel: Channel): void {
    const parent = parentId(msg);
    if (channel === 'iopub') {
      this._handshakeTap?.(msg);
      this._options.onIopub(msg);
      const pending = parent ? this._pending.get(parent) : undefined;
      if (pending && msg.header.msg_type === 'status' && msg.content.execution_state === 'idle') {
        pending.idle = true;
        this._settle(parent!, pending);
        if (!pending.reply) {
          pending.replyTimer = setTimeout(
            () => this._replyLost(parent!, pending),
            pending.interrupted ? REPLY_AFTER_IDLE_MS : REPLY_AFTER_IDLE_UNINTERRUPTED_MS
          );
        }
      }
      return;
    }
    if (channel === 'stdin') {
      // allow_stdin is false, so kernels should never ask; say so rather than hang.
      this._channels.send('stdin', 'input_reply', { value: '', status: 'error' }, msg.header);
      return;
    }
    if (!parent) {
      return;
    }
    const waiter = this._replyWaiters.get(parent);
    if (waiter) {
      this._replyWaiters.delete(parent);
      waiter(msg);
    }
    const pending = this._pending.get(parent);
    if (pending && msg.header.msg_type === 'execute_reply') {
      pending.reply = msg;
      this._settle(parent, pending);
    }
  }

  private _settle(msgId: string, pending: PendingExecution): void {
    if (pending.idle && pending.reply) {
      clearTimeout(pending.replyTimer);
      this._pending.delete(msgId);
      pending.resolve(pending.reply);
    }
  }

  /** The kernel went idle without replying: the execution ends as interrupted. */
  private _replyLost(msgId: string, pending: PendingExecution): void {
    if (pending.reply || this._pending.get(msgId) !== pending) {
      return;
    }
    warn(
      `${this.label}: went idle without an execute_reply` +
        (pending.interrupted ? ' (interrupted while replying)' : '')
    );
    pending.reply = {
      header: { ...pending.header, msg_type: 'execute_reply' },
      parent_header: pending.header,
      metadata: {},
      content: {
        status: 'aborted',
        ename: 'KeyboardInterrupt',
        evalue: 'interrupted: the kernel went idle without replying'
      },
      buffers: []
    };
    this._settle(msgId, pending);
  }
}

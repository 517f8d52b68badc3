import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import {
  ExecuteRequest,
  ExecutionSummary,
  GroupInfo,
  GroupState,
  GroupSummary,
  OutputEvent,
  OutputMsgType,
  StartGroupRequest
} from '../../src/protocol/api';
import { describeExit, Kernel, KernelDiedError, KernelExit } from '../kernel/kernel';
import { getKernelSpec, KernelSpec } from '../kernel/kernelspec';
import { JupyterMessage, parentId } from '../kernel/message';
import { freeLoopbackPort } from '../net';
import { PACKAGE_ROOT } from '../package-root';
import { chooseGpus, cudaVisibleDevices, listGpus } from './devices';
import { BadRequestError, ConflictError, NotFoundError } from './errors';
import { ExecutionStore, OUTPUT_MSG_TYPES } from './executions';
import { GroupShape, newRunId, rankEnvironment } from './rank-env';

const BOOTSTRAP = fs.readFileSync(
  path.join(PACKAGE_ROOT, 'server', 'py', 'rank_bootstrap.py'),
  'utf8'
);
export const DEFAULT_CPU_RANKS = 2;
export const DEFAULT_TIMEOUT_SECONDS = 1800;
const MASTER_LISTEN_TIMEOUT_MS = 120_000;

/** Where ranks run and what runs them. */
export interface GroupEnvironment {
  /** The served root; rank working directories are inside it. */
  rootDir: string;
  /** Private (0700) folder for connection files. */
  runtimeDir: string;
  /** Python that runs the process guard. */
  python: string;
}

/** Everything a group tells its clients. */
export interface GroupListener {
  group(info: GroupInfo): void;
  output(event: OutputEvent): void;
  execution(summary: ExecutionSummary): void;
}

interface Rank {
  rank: number;
  kernel: Kernel;
  pid: number | null;
}

interface Failure {
  /** "rank 2 exited (SIGKILL)" */
  reason: string;
  rank: number | null;
  /** The failed rank's last output lines. */
  output: string[];
}

/**
 * A DDP group: one kernel per rank with torchrun's environment and, where torch is importable, an
 * initialised process group. Any rank's exit fails the whole group at once — the survivors would
 * hang in their next collective — and ends the others; `start` or `restart` brings it back.
 */
export class DdpGroup {
  private state: GroupState = 'stopped';
  private ranks: Rank[] = [];
  private shape: GroupShape | null = null;
  private device: 'gpu' | 'cpu' | null = null;
  private spec: KernelSpec | null = null;
  private backend: 'nccl' | 'gloo' | null = null;
  private notices: string[] = [];
  private failure: Failure | null = null;
  private lastRequest: StartGroupRequest = {};
  /** Bumped at every start and stop, so exits of an old generation's ranks are ignored. */
  private generation = 0;
  private readonly executions = new ExecutionStore();
  /** execute_request msg_id → the execution and rank it belongs to. */
  private readonly requests = new Map<string, { execution: string; rank: number }>();

  constructor(
    readonly name: string,
    private readonly env: GroupEnvironment,
    private readonly listener: GroupListener
  ) {}

  summary(): GroupSummary {
    const summary: GroupSummary = {
      state: this.state,
      worldSize: this.ranks.length,
      device: this.device
    };
    if (this.failure) {
      summary.error = this.failure.reason;
    }
    return summary;
  }

  info(): GroupInfo {
    return {
      ...this.summary(),
      name: this.name,
      kernelName: this.spec?.name ?? null,
      backend: this.backend,
      ranks: this.ranks.map(r => ({
        rank: r.rank,
        pid: r.pid,
        cudaVisibleDevices: this.shape?.cudaVisibleDevices ?? null,
        alive: r.kernel.isAlive
      })),
      notices: [
        ...this.notices,
        ...(this.failure?.output.length
          ? [`Last output of rank ${this.failure.rank}:\n${this.failure.output.join('\n')}`]
          : [])
      ]
    };
  }

  get worldSize(): number {
    return this.ranks.length;
  }

  /** Start the ranks and resolve once they are ready (process group initialised if asked). */
  async start(request: StartGroupRequest): Promise<GroupInfo> {
    if (this.state === 'starting' || this.state === 'ready' || this.state === 'busy') {
      throw new ConflictError(
        `group "${this.name}" is already ${this.state}; stop or restart it first`
      );
    }
    const plan = await this.plan(request);
    await this.killRanks();
    const generation = ++this.generation;
    this.lastRequest = request;
    this.failure = null;
    this.notices = [];
    this.spec = plan.spec;
    this.device = plan.device;
    this.shape = {
      worldSize: plan.worldSize,
      masterPort: await freeLoopbackPort(),
      cudaVisibleDevices: plan.cudaVisibleDevices,
      runId: newRunId()
    };
    this.setState('starting');
    try {
      await this.spawnRanks(generation, plan.cwd);
      await this.initialise(request, generation);
    } catch (err) {
      // Unless a stop() or a new start() took over meanwhile, the group is now failed.
      if (generation === this.generation) {
        this.generation++;
        await this.killRanks();
        this.failure ??= { reason: (err as Error).message, rank: null, output: [] };
        this.setState('failed');
      }
      throw err;
    }
    this.setState('ready');
    return this.info();
  }

  async stop(): Promise<void> {
    this.generation++;
    await this.killRanks();
    this.abortRunning('the group was stopped');
    this.ranks = [];
    this.failure = null;
    this.backend = null;
    this.device = null;
    this.setState('stopped');
  }

  /** Stop, then start again with the same request. */
  async restart(): Promise<GroupInfo> {
    await this.stop();
    return this.start(this.lastRequest);
  }

  async interrupt(): Promise<void> {
    this.requireRunning();
    await Promise.all(this.ranks.map(r => r.kernel.interrupt()));
  }

  /** Run code on all ranks (or some); outputs and the summary arrive through the listener. */
  execute(request: ExecuteRequest): ExecutionSummary {
    this.requireRunning();
    const ranks = this.checkRanks(request.ranks);
    const summary = this.executions.create(ranks);
    this.listener.execution(summary);
    this.setState('busy');
    const runs = ranks.map(async rank => {
      const { msgId, done } = this.ranks[rank].kernel.execute(request.code);
      this.requests.set(msgId, { execution: summary.id, rank });
      try {
        const reply = await done;
        const content = reply.content as {
          status: 'ok' | 'error' | 'aborted';
          execution_count?: number;
        };
        this.executions.finishRank(
          summary.id,
          rank,
          content.status,
          content.execution_count ?? null
        );
      } catch (err) {
        if (!(err instanceof KernelDiedError)) {
          throw err;
        }
        this.executions.finishRank(summary.id, rank, 'aborted', null);
      } finally {
        this.requests.delete(msgId);
      }
    });
    void Promise.all(runs).then(() => this.complete(summary.id));
    return summary;
  }

  record(execution: string, since?: number) {
    return this.executions.record(execution, since);
  }

  /** Validate a start request against the machine before touching anything. */
  private async plan(request: StartGroupRequest) {
    const spec = await getKernelSpec(request.kernelName ?? 'python3').catch((err: unknown) => {
      throw new BadRequestError((err as Error).message, 'kernelName');
    });
    const cwd = path.resolve(this.env.rootDir, request.cwd ?? '.');
    if (
      path.relative(this.env.rootDir, cwd).startsWith('..') ||
      !fs.existsSync(cwd) ||
      !fs.statSync(cwd).isDirectory()
    ) {
      throw new BadRequestError(
        `cwd "${request.cwd}" is not a folder inside the served root`,
        'cwd'
      );
    }
    const gpus = await listGpus();
    if (gpus.length > 0) {
      let chosen;
      try {
        chosen = chooseGpus(gpus, request.gpus ?? 'all', request.ranks);
      } catch (err) {
        throw new BadRequestError(
          (err as Error).message,
          request.gpus !== undefined ? 'gpus' : 'ranks'
        );
      }
      return {
        spec,
        cwd,
        device: 'gpu' as const,
        worldSize: chosen.length,
        cudaVisibleDevices: chosen.map(cudaVisibleDevices).join(',')
      };
    }
    if (request.gpus !== undefined && request.gpus !== 'all') {
      throw new BadRequestError(
        'this machine has no GPU (nvidia-smi found none); start CPU ranks instead',
        'gpus'
      );
    }
    return {
      spec,
      cwd,
      device: 'cpu' as const,
      worldSize: request.ranks ?? DEFAULT_CPU_RANKS,
      cudaVisibleDevices: null
    };
  }

  private async spawnRanks(generation: number, cwd: string): Promise<void> {
    const shape = this.shape!;
    this.ranks = [];
    const started = await Promise.allSettled(
      Array.from({ length: shape.worldSize }, (_, rank) =>
        Kernel.start({
          spec: this.spec!,
          label: `rank ${rank}`,
          runtimeDir: this.env.runtimeDir,
          cwd,
          env: rankEnvironment(rank, shape),
          python: this.env.python,
          onIopub: msg => this.onIopub(rank, msg)
        })
      )
    );
    const kernels = started.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []));
    if (generation !== this.generation) {
      await Promise.all(kernels.map(k => k.kill()));
      throw new Error('the group was stopped while starting');
    }
    for (const [rank, result] of started.entries()) {
      if (result.status === 'fulfilled') {
        this.ranks.push({ rank, kernel: result.value, pid: null });
        void result.value.exited.then(exit => this.onRankExit(generation, rank, exit));
      }
    }
    const failed = started.findIndex(r => r.status === 'rejected');
    if (failed >= 0) {
      const err = (started[failed] as PromiseRejectedResult).reason as Error;
      const reason = `rank ${failed} did not start: ${err.message}`;
      this.failure = {
        reason,
        rank: failed,
        output: err instanceof KernelDiedError ? err.exit.output : []
      };
      throw new Error(reason);
    }
  }

  /** Import torch everywhere at once, then init rank 0 first so the others find it listening. */
  private async initialise(request: StartGroupRequest, generation: number): Promise<void> {
    const prepared = await Promise.all(
      this.ranks.map(async r => {
        const info = decode(await r.kernel.evaluate(BOOTSTRAP, '_ddp_prepare()')) as {
          pid: number;
          torch: string | null;
          cuda: boolean;
          error: string | null;
        };
        r.pid = info.pid;
        return info;
      })
    );
    if (generation !== this.generation) {
      throw new Error('the group was stopped while starting');
    }
    const torch = prepared[0];
    if (!torch.torch) {
      this.backend = null;
      this.notices.push(
        `torch is not importable on the ranks (${torch.error}); they run as a plain parallel kernel pool.`
      );
      return;
    }
    if (request.initProcessGroup === false) {
      this.notices.push('The torch process group was not initialised (initProcessGroup: false).');
      return;
    }
    const backend = this.device === 'gpu' ? 'nccl' : 'gloo';
    const timeout = request.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const init = (r: Rank) =>
      r.kernel.evaluate('', `_ddp_init_process_group(${JSON.stringify(backend)}, ${timeout})`);
    const first = init(this.ranks[0]);
    await Promise.race([waitForListener(this.shape!.masterPort, MASTER_LISTEN_TIMEOUT_MS), first]);
    await Promise.all([first, ...this.ranks.slice(1).map(init)]);
    this.backend = backend;
  }

  private onIopub(rank: number, msg: JupyterMessage): void {
    const request = this.requests.get(parentId(msg) ?? '');
    if (!request || !OUTPUT_MSG_TYPES.has(msg.header.msg_type)) {
      return;
    }
    const event = this.executions.addOutput(
      request.execution,
      rank,
      msg.header.msg_type as OutputMsgType,
      msg.content
    );
    if (event) {
      this.listener.output(event);
    }
  }

  private onRankExit(generation: number, rank: number, exit: KernelExit): void {
    if (generation !== this.generation || this.failure) {
      return;
    }
    const reason = `rank ${rank} exited (${describeExit(exit)})`;
    this.failure = { reason, rank, output: exit.output };
    // The survivors would block in their next collective: end them now.
    void this.killRanks().then(() => {
      if (generation === this.generation) {
        this.abortRunning(reason);
        this.setState('failed');
      }
    });
  }

  private complete(execution: string): void {
    const summary = this.executions.finish(
      execution,
      this.failure ? this.summary().error : undefined
    );
    if (summary) {
      this.listener.execution(summary);
    }
    if (this.state === 'busy' && this.executions.running().length === 0) {
      this.setState('ready');
    }
  }

  private abortRunning(reason: string): void {
    for (const summary of this.executions.running()) {
      for (const rank of summary.ranks) {
        summary.rankStatus[rank] ??= 'aborted';
      }
      const done = this.executions.finish(summary.id, reason);
      if (done) {
        this.listener.execution(done);
      }
    }
  }

  private async killRanks(): Promise<void> {
    await Promise.all(this.ranks.map(r => r.kernel.kill()));
  }

  /** The ranks named (all by default), each existing and named once. */
  checkRanks(ranks?: number[]): number[] {
    if (ranks === undefined) {
      return this.ranks.map(r => r.rank);
    }
    for (const rank of ranks) {
      if (!Number.isInteger(rank) || rank < 0 || rank >= this.ranks.length) {
        throw new NotFoundError(
          `rank ${rank} does not exist: group "${this.name}" has ranks 0-${this.ranks.length - 1}`
        );
      }
    }
    if (new Set(ranks).size !== ranks.length || ranks.length === 0) {
      throw new BadRequestError('ranks must name each rank once, and at least one', 'ranks');
    }
    return ranks;
  }

  private requireRunning(): void {
    if (this.state !== 'ready' && this.state !== 'busy') {
      throw new ConflictError(
        `group "${this.name}" is ${this.state}${this.failure ? ` (${this.summary().error})` : ''}; start it first`
      );
    }
  }

  private setState(state: GroupState): void {
    this.state = state;
    this.listener.group(this.info());
  }
}

function decode(value: string): unknown {
  return JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
}

/** Resolves once something accepts TCP connections on the loopback port. */
async function waitForListener(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>(resolve => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) {
      return;
    }
    await new Promise(r => setTimeout(r, 20));
  }
  throw new Error(`rank 0 did not listen on port ${port} within ${timeoutMs / 1000} s`);
}

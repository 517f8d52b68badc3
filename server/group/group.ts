import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  CallRequest,
  CallResult,
  ExecuteRequest,
  ExecutionSummary,
  GroupInfo,
  GroupState,
  GroupSummary,
  OutputEvent,
  OutputMsgType,
  PullRequest,
  PullResult,
  PushRequest,
  PushResult,
  StartGroupRequest
} from '../../src/protocol/api';
import { describeExit, Kernel, KernelDiedError, KernelExit } from '../kernel/kernel';
import { getKernelSpec, KernelSpec } from '../kernel/kernelspec';
import { JupyterMessage, parentId } from '../kernel/message';
import { freeLoopbackPort } from '../net';
import { chooseGpus, cudaVisibleDevices, listGpus } from './devices';
import { BadRequestError, ConflictError, NotFoundError } from './errors';
import { ExecutionStore, OUTPUT_MSG_TYPES } from './executions';
import { GroupShape, newRunId, rankEnvironment, sharedEnvironment } from './rank-env';
import * as transfers from './transfers';
import { BOOTSTRAP, callRank } from './transfers';
import { SpareRecipe, WarmPool } from './warm-pool';

export const DEFAULT_CPU_RANKS = 2;
export const DEFAULT_TIMEOUT_SECONDS = 1800;

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
  /** `rawContent`: the event's content as the kernel sent it (UTF-8 JSON), when at hand. */
  output(event: OutputEvent, rawContent?: Buffer): void;
  execution(summary: ExecutionSummary): void;
}

interface Rank {
  rank: number;
  kernel: Kernel;
  pid: number | null;
}

/** A start request checked against the machine. */
interface Plan {
  spec: KernelSpec;
  cwd: string;
  device: 'gpu' | 'cpu';
  worldSize: number;
  cudaVisibleDevices: string | null;
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
 *
 * Once started, the group keeps as many warm spare kernels (torch already imported) as it has
 * ranks, unless asked not to (`spares: false`): a restart, or a new start of the same kernelspec,
 * folder and GPUs, hands them their ranks instead of starting Python and torch again.
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
  private lastPlan: Plan | null = null;
  /** Bumped at every start and stop, so exits of an old generation's ranks are ignored. */
  private generation = 0;
  private readonly executions = new ExecutionStore();
  /** execute_request msg_id → the execution and rank it belongs to. */
  private readonly requests = new Map<string, { execution: string; rank: number }>();
  private readonly pool: WarmPool;

  constructor(
    readonly name: string,
    private readonly env: GroupEnvironment,
    private readonly listener: GroupListener
  ) {
    this.pool = new WarmPool({
      runtimeDir: env.runtimeDir,
      python: env.python,
      warmUp: kernel => kernel.evaluate(BOOTSTRAP, '_ddp_warm()').then(() => undefined)
    });
  }

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
    return this.launch(request, await this.plan(request));
  }

  /** End the ranks and the spares. */
  async stop(): Promise<void> {
    await Promise.all([this.end(), this.pool.clear()]);
  }

  /**
   * Stop, then start again with the same request, kernelspec, folder and devices as last time
   * (resolved then, so nothing is looked up again), on the warm spares where there are.
   */
  async restart(): Promise<GroupInfo> {
    await this.end();
    return this.launch(this.lastRequest, this.lastPlan ?? (await this.plan(this.lastRequest)));
  }

  /** Resolves once the spares now starting are warm; gives how many are. */
  sparesSettled(): Promise<number> {
    return this.pool.settled();
  }

  private async launch(request: StartGroupRequest, plan: Plan): Promise<GroupInfo> {
    await this.killRanks();
    if (request.spares === false) {
      await this.pool.clear();
    }
    const generation = ++this.generation;
    this.lastRequest = request;
    this.lastPlan = plan;
    this.failure = null;
    this.notices = [];
    this.spec = plan.spec;
    this.device = plan.device;
    this.shape = {
      worldSize: plan.worldSize,
      masterPort: null,
      cudaVisibleDevices: plan.cudaVisibleDevices,
      runId: newRunId()
    };
    const recipe: SpareRecipe = {
      spec: plan.spec,
      cwd: plan.cwd,
      env: sharedEnvironment(plan.cudaVisibleDevices)
    };
    this.setState('starting');
    let torch: boolean;
    try {
      await this.spawnRanks(generation, recipe);
      torch = await this.initialise(request, generation);
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
    if (torch && request.spares !== false) {
      this.pool.fill(recipe, plan.worldSize);
    }
    return this.info();
  }

  private async end(): Promise<void> {
    this.generation++;
    await this.killRanks();
    this.abortRunning('the group was stopped');
    this.ranks = [];
    this.failure = null;
    this.backend = null;
    this.device = null;
    this.setState('stopped');
  }

  async interrupt(): Promise<void> {
    this.requireRunning();
    await Promise.all(this.ranks.map(r => r.kernel.interrupt()));
  }

  /** Run code on all ranks (or some); outputs and the summary arrive through the listener. */
  execute(request: ExecuteRequest): ExecutionSummary {
    this.requireRunning();
    const ranks = this.checkRanks(request.ranks);
    const summary = this.executions.create(ranks, request.cell);
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

  /** Load a transfer file into the chosen ranks' namespaces (default all), or into none. */
  async push(request: PushRequest): Promise<PushResult> {
    this.requireRunning();
    return transfers.push(this.kernelsOf(this.checkRanks(request.ranks)), request.file);
  }

  /** One rank writes the named values to a transfer file. */
  async pull(request: PullRequest): Promise<PullResult> {
    this.requireRunning();
    const [rank] = this.checkRanks([request.rank ?? 0]);
    return transfers.pull(this.ranks[rank].kernel, rank, request.names);
  }

  /** Run a transfer file's function on the chosen ranks (default all) at once. */
  async call(request: CallRequest): Promise<CallResult> {
    this.requireRunning();
    return transfers.call(this.kernelsOf(this.checkRanks(request.ranks)), request.file);
  }

  private kernelsOf(ranks: number[]): Map<number, Kernel> {
    return new Map(ranks.map(rank => [rank, this.ranks[rank].kernel]));
  }

  /** Kept executions' summaries, oldest first (a reloaded page finds its running cells here). */
  listExecutions(): ExecutionSummary[] {
    return this.executions.list();
  }

  record(execution: string, since?: number) {
    return this.executions.record(execution, since);
  }

  /** Validate a start request against the machine before touching anything. */
  private async plan(request: StartGroupRequest): Promise<Plan> {
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
      worldSize: request.ranks ?? request.cpuRanks ?? DEFAULT_CPU_RANKS,
      cudaVisibleDevices: null
    };
  }

  private async spawnRanks(generation: number, recipe: SpareRecipe): Promise<void> {
    const shape = this.shape!;
    this.ranks = [];
    const started = await Promise.allSettled(
      Array.from({ length: shape.worldSize }, (_, rank) => this.startRank(rank, recipe))
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

  /**
   * A rank's kernel: a warm spare, given the rank's torchrun environment before anything touches
   * CUDA, or else (no spare, or it died meanwhile) a new kernel started with that environment.
   */
  private async startRank(rank: number, recipe: SpareRecipe): Promise<Kernel> {
    const label = `rank ${rank}`;
    const env = rankEnvironment(rank, this.shape!);
    const onIopub = (msg: JupyterMessage) => this.onIopub(rank, msg);
    const spare = await this.pool.take(recipe)?.catch(() => null);
    if (spare) {
      try {
        spare.adopt(label, onIopub);
        await setEnvironment(spare, env);
        return spare;
      } catch {
        await spare.kill();
      }
    }
    return Kernel.start({
      spec: recipe.spec,
      label,
      runtimeDir: this.env.runtimeDir,
      cwd: recipe.cwd,
      env,
      python: this.env.python,
      onIopub
    });
  }

  /**
   * Import torch everywhere at once, then init rank 0 first so the others find it listening.
   * Resolves with whether torch is importable on the ranks.
   */
  private async initialise(request: StartGroupRequest, generation: number): Promise<boolean> {
    const prepared = await Promise.all(
      this.ranks.map(async r => {
        const info = (await callRank(r.kernel, '_ddp_prepare()')) as unknown as {
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
    if (!torch.torch || request.initProcessGroup === false) {
      // Nothing of ours will listen: hand out a free port, as torchrun does, for user code's own
      // init_process_group.
      await this.setMasterPort(await freeLoopbackPort());
      if (!torch.torch) {
        this.backend = null;
        this.notices.push(
          `torch is not importable on the ranks (${torch.error}); they run as a plain parallel kernel pool.`
        );
        return false;
      }
      this.notices.push('The torch process group was not initialised (initProcessGroup: false).');
      return true;
    }
    const backend = this.device === 'gpu' ? 'nccl' : 'gloo';
    const timeout = request.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const { port } = (await callRank(this.ranks[0].kernel, `_ddp_listen(${timeout})`)) as {
      port: number;
    };
    this.shape!.masterPort = port;
    await Promise.all(
      this.ranks.map(r =>
        r.kernel.evaluate(
          '',
          `_ddp_init_process_group(${JSON.stringify(backend)}, ${timeout}, ${port})`
        )
      )
    );
    this.backend = backend;
    return true;
  }

  private async setMasterPort(port: number): Promise<void> {
    this.shape!.masterPort = port;
    await Promise.all(this.ranks.map(r => setEnvironment(r.kernel, { MASTER_PORT: String(port) })));
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
      this.listener.output(event, msg.rawContent);
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

/** Add variables to a kernel's os.environ (the bootstrap's _ddp_set_environment). */
async function setEnvironment(kernel: Kernel, env: Record<string, string>): Promise<void> {
  const encoded = Buffer.from(JSON.stringify(env)).toString('base64');
  await kernel.evaluate('', `_ddp_set_environment('${encoded}')`);
}

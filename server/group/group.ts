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
  isOutputMsgType,
  isRunning,
  OutputEvent,
  PullRequest,
  PullResult,
  PushRequest,
  PushResult,
  RankProblem,
  StartGroupRequest
} from '../../src/protocol/api';
import { describeExit, Kernel, KernelDiedError, KernelExit } from '../kernel/kernel';
import { getKernelSpec, KernelSpec } from '../kernel/kernelspec';
import { JupyterMessage, parentId } from '../kernel/message';
import { freeLoopbackPort } from '../net';
import { removeStaleTransferFiles } from '../process/stale-transfers';
import { chooseGpus, cudaVisibleDevices, listGpus } from './devices';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  RankFailedError,
  RankFailure
} from './errors';
import { ExecutionStore } from './executions';
import { GroupShape, newRunId, rankEnvironment, sharedEnvironment } from './rank-env';
import { callRank } from './rank-calls';
import { RankHealth, RankWatch, RankWatchTimes } from './rank-watch';
import * as transfers from './transfers';
import { SpareRecipe, WarmPool } from './warm-pool';

export const DEFAULT_CPU_RANKS = 2;
export const DEFAULT_TIMEOUT_SECONDS = 1800;
/** Each step of a start (a kernel answering, importing torch, the process group) takes at most. */
const START_STEP_TIMEOUT_MS = 120_000;
/** How soon after a rank finished, the others still running, the execution is told again. */
const RANK_END_NOTICE_MS = 500;
/** An interrupt that has not ended a rank's cell after this long will not: say so. */
const INTERRUPT_GRACE_MS = 5000;

/** Where ranks run and what runs them. */
export interface GroupEnvironment {
  /** The served root; rank working directories are inside it. */
  rootDir: string;
  /** Private (0700) folder for connection files. */
  runtimeDir: string;
  /** Python that runs the process guard. */
  python: string;
  /** Tests shorten these: how long each start-up step may take, and the rank watch's times. */
  startStepTimeoutMs?: number;
  watchTimes?: RankWatchTimes;
  interruptGraceMs?: number;
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

/** Why the group failed: "rank 2 exited (SIGKILL)", the rank, its last output lines. */
type Failure = RankFailure;

const PROBLEM_TEXT: Record<RankProblem['kind'], (rank: number) => string> = {
  unresponsive: rank =>
    `rank ${rank} is not responding: its process answers no heartbeat (stopped or frozen?); ` +
    'resume it (kill -CONT) or restart the group',
  blocked: rank =>
    `rank ${rank} is alive but its Python is not answering (C code holding the GIL?); ` +
    'wait, or restart the group',
  'interrupt-ignored': rank =>
    `rank ${rank} is still running after the interrupt (a gloo or NCCL collective ignores ` +
    'interrupts); restart the group to free it'
};

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
  private readonly watch: RankWatch;
  /** By `${kind} ${rank}`. */
  private readonly problems = new Map<string, RankProblem>();
  /** Executions with a telling of their ranks' ends pending (tellRankEnds). */
  private readonly rankEndsTold = new Set<string>();
  /** Set while the ranks are being ended (a stop, a rank's death): no new work is taken. */
  private ending = false;

  constructor(
    readonly name: string,
    private readonly env: GroupEnvironment,
    private readonly listener: GroupListener
  ) {
    this.pool = new WarmPool({ runtimeDir: env.runtimeDir, python: env.python });
    this.watch = new RankWatch(
      () => this.busyKernels(),
      (rank, health) => this.onRankHealth(rank, health),
      env.watchTimes
    );
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
    if (this.problems.size > 0) {
      summary.problems = [...this.problems.values()];
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
    if (this.state === 'starting' || isRunning(this.state)) {
      throw new ConflictError(
        `group "${this.name}" is already ${this.state}; stop or restart it first`
      );
    }
    const generation = this.generation;
    const plan = await this.plan(request);
    if (generation !== this.generation) {
      throw new ConflictError(overtaken(this.name)); // a stop or another start came meanwhile
    }
    return this.launch(request, plan);
  }

  /** End the ranks and the spares. */
  async stop(): Promise<void> {
    await Promise.all([this.end('the group was stopped'), this.pool.clear()]);
  }

  /**
   * Stop, then start again with the same request, kernelspec, folder and devices as last time
   * (resolved then, so nothing is looked up again), on the warm spares where there are.
   */
  async restart(): Promise<GroupInfo> {
    await this.end('the group was restarted');
    return this.launch(this.lastRequest, this.lastPlan ?? (await this.plan(this.lastRequest)));
  }

  /** Resolves once the spares now starting are warm; gives how many are. */
  sparesSettled(): Promise<number> {
    return this.pool.settled();
  }

  private async launch(request: StartGroupRequest, plan: Plan): Promise<GroupInfo> {
    // Taken at once, so that a stop or start from now on overtakes this one.
    const generation = ++this.generation;
    this.ending = false;
    this.state = 'starting'; // told below, once its shape is known
    await this.killRanks();
    removeStaleTransferFiles();
    if (request.spares === false) {
      await this.pool.clear();
    }
    if (generation !== this.generation) {
      throw new ConflictError(overtaken(this.name));
    }
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
      if (generation !== this.generation) {
        // A stop() or a new start() took over meanwhile: a conflict, not a failure.
        throw new ConflictError(overtaken(this.name));
      }
      this.generation++;
      await this.killRanks();
      const failed =
        err instanceof RankFailedError ? err : new RankFailedError((err as Error).message);
      this.failure = failed.failure;
      this.setState('failed');
      throw failed;
    }
    this.setState('ready');
    if (torch && request.spares !== false) {
      this.pool.fill(recipe, plan.worldSize);
    }
    return this.info();
  }

  /** End the ranks; every execution still running (or queued) ends as aborted, saying `why`. */
  private async end(why: string): Promise<void> {
    this.generation++;
    this.ending = true;
    this.watch.stop();
    await this.killRanks();
    removeStaleTransferFiles(); // a rank killed mid-pull leaves its half-written file
    this.abortRunning(why);
    this.ranks = [];
    this.failure = null;
    this.problems.clear();
    this.backend = null;
    this.device = null;
    this.setState('stopped');
  }

  /**
   * Interrupt every rank. A rank whose cell has not ended a few seconds later will not (collectives
   * ignore interrupts): its execution lists it in `interruptIgnored`, and the group reports it as
   * a problem, so that the user (or a headless run) knows that only a restart frees it.
   */
  async interrupt(): Promise<void> {
    this.requireRunning();
    const generation = this.generation;
    const sent = Date.now();
    const running = this.executions.running();
    for (const summary of running) {
      summary.interruptedAt = sent;
    }
    await Promise.allSettled(this.ranks.map(r => r.kernel.interrupt()));
    const timer = setTimeout(() => {
      if (generation === this.generation) {
        this.checkInterrupted(running, sent);
      }
    }, this.env.interruptGraceMs ?? INTERRUPT_GRACE_MS);
    timer.unref();
  }

  private checkInterrupted(summaries: ExecutionSummary[], sent: number): void {
    let any = false;
    for (const summary of summaries) {
      const stuck = this.stillRunning(summary);
      if (summary.status !== 'running' || summary.interruptedAt !== sent || stuck.length === 0) {
        continue;
      }
      summary.interruptIgnored = stuck;
      for (const rank of stuck) {
        this.addProblem(rank, 'interrupt-ignored');
      }
      this.listener.execution(summary);
      any = true;
    }
    if (any) {
      this.listener.group(this.info());
    }
  }

  /** Run code on all ranks (or some); outputs and the summary arrive through the listener. */
  execute(request: ExecuteRequest): ExecutionSummary {
    this.requireRunning();
    const ranks = this.checkRanks(request.ranks);
    const summary = this.executions.create(ranks, request.cell);
    this.listener.execution(summary);
    this.setState('busy');
    this.watch.start();
    const generation = this.generation;
    const runs = ranks.map(async rank => {
      // A cell on every rank may make the process group again (jupyter_ddp_rank.compat).
      const { msgId, done } = this.ranks[rank].kernel.execute(request.code, {
        metadata: { jupyterDdpAllRanks: ranks.length === this.ranks.length }
      });
      this.requests.set(msgId, { execution: summary.id, rank });
      let status: 'ok' | 'error' | 'aborted' = 'aborted';
      let count: number | null = null;
      try {
        const content = (await done).content as {
          status: 'ok' | 'error' | 'aborted';
          execution_count?: number;
        };
        status = content.status;
        count = content.execution_count ?? null;
      } catch (err) {
        if (!(err instanceof KernelDiedError)) {
          throw err;
        }
      } finally {
        this.requests.delete(msgId);
      }
      this.executions.finishRank(summary.id, rank, status, count);
      // A rank that finished is answering again.
      for (const kind of ['interrupt-ignored', 'unresponsive', 'blocked']) {
        this.problems.delete(`${kind} ${rank}`);
      }
      this.tellRankEnds(summary, generation);
    });
    void Promise.all(runs).then(() => {
      // After a stop or restart, end() ends it (as aborted, saying why), not its killed ranks.
      if (generation === this.generation) {
        this.complete(summary.id);
      }
    });
    return summary;
  }

  /**
   * Ranks that finished while others still run are told a moment later, if the execution still
   * runs then, so that a rank straggling after the others stands out; a cell whose ranks end
   * together (most cells) costs no message for it.
   */
  private tellRankEnds(summary: ExecutionSummary, generation: number): void {
    if (summary.status !== 'running' || this.rankEndsTold.has(summary.id)) {
      return;
    }
    this.rankEndsTold.add(summary.id);
    setTimeout(() => {
      this.rankEndsTold.delete(summary.id);
      if (summary.status === 'running' && generation === this.generation) {
        this.listener.execution(summary);
      }
    }, RANK_END_NOTICE_MS).unref();
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
    const cwd = folderInside(this.env.rootDir, request.cwd ?? '.');
    if (cwd === null) {
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
      throw new ConflictError('the group was stopped while starting');
    }
    for (const [rank, result] of started.entries()) {
      if (result.status === 'fulfilled') {
        this.ranks.push({ rank, kernel: result.value, pid: null });
        void result.value.exited.then(exit => this.onRankExit(generation, rank, exit));
      }
    }
    const failed = started.findIndex(r => r.status === 'rejected');
    if (failed >= 0) {
      throw rankFailed(failed, 'starting', (started[failed] as PromiseRejectedResult).reason);
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
        await withTimeout(
          callRank(spare, 'setEnvironment', { env }),
          this.startStepMs,
          `${label}: no answer`
        );
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
      onIopub,
      readyTimeoutMs: this.startStepMs
    });
  }

  private get startStepMs(): number {
    return this.env.startStepTimeoutMs ?? START_STEP_TIMEOUT_MS;
  }

  /**
   * Import torch everywhere at once, then make the process group through a rendezvous file in
   * the private runtime folder (nothing listens on any interface for it). Each step is bounded and
   * a rank that fails it is named. Resolves with whether torch is importable on the ranks.
   */
  private async initialise(request: StartGroupRequest, generation: number): Promise<boolean> {
    const prepared = await this.everyRank('importing torch', async r => {
      const info = await callRank(r.kernel, 'prepare', {});
      r.pid = info.pid;
      return info;
    });
    if (generation !== this.generation) {
      throw new ConflictError('the group was stopped while starting');
    }
    // torchrun's MASTER_PORT, for code that reads it; our own rendezvous needs no port.
    const port = await freeLoopbackPort();
    this.shape!.masterPort = port;
    const torch = prepared[0];
    if (!torch.torch || request.initProcessGroup === false) {
      await this.everyRank('setting its environment', r =>
        callRank(r.kernel, 'setEnvironment', { env: { MASTER_PORT: String(port) } })
      );
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
    const store = path.join(this.env.runtimeDir, `rendezvous-${this.shape!.runId}`);
    await this.everyRank('initialising the process group', r =>
      callRank(r.kernel, 'initProcessGroup', { backend, timeout, store, port })
    );
    this.backend = backend;
    return true;
  }

  /**
   * One start-up step on every rank at once, bounded in time. A rank that dies, fails or does not
   * answer in time fails the start, named with why: a stopped process (no heartbeat) is named
   * before the ranks that merely wait for it.
   */
  private async everyRank<T>(what: string, work: (r: Rank) => Promise<T>): Promise<T[]> {
    const limitMs = this.startStepMs;
    const done = new Set<number>();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => void this.lateRanks(what, limitMs, done).then(reject), limitMs);
    });
    const steps = this.ranks.map(r =>
      work(r).then(
        value => {
          done.add(r.rank);
          return value;
        },
        (err: unknown) => {
          throw rankFailed(r.rank, what, err);
        }
      )
    );
    try {
      return await Promise.race([Promise.all(steps), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async lateRanks(what: string, limitMs: number, done: Set<number>): Promise<Error> {
    const late = this.ranks.filter(r => !done.has(r.rank));
    const beats = await Promise.all(late.map(r => r.kernel.ping()));
    const silent = late.filter((_, i) => !beats[i]);
    const named = silent.length > 0 ? silent : late;
    const ranks = named.map(r => r.rank).join(', ');
    const why =
      silent.length > 0
        ? 'answers no heartbeat (stopped or frozen?)'
        : `did not finish within ${limitMs / 1000} s`;
    const reason = `rank${named.length > 1 ? 's' : ''} ${ranks} ${why} while ${what}`;
    return new RankFailedError(`${reason}; a restart will retry`, {
      reason,
      rank: named[0]?.rank ?? null,
      output: []
    });
  }

  private onIopub(rank: number, msg: JupyterMessage): void {
    const request = this.requests.get(parentId(msg) ?? '');
    if (!request || !isOutputMsgType(msg.header.msg_type)) {
      return;
    }
    const event = this.executions.addOutput(
      request.execution,
      rank,
      msg.header.msg_type,
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
    this.ending = true;
    this.watch.stop();
    // The survivors would block in their next collective: end them now.
    void this.killRanks().then(() => {
      if (generation === this.generation) {
        this.abortRunning(reason);
        this.problems.clear();
        this.setState('failed');
      }
    });
  }

  private complete(execution: string): void {
    const summary = this.executions.finish(execution, this.failure?.reason, this.failedRank());
    if (summary) {
      this.listener.execution(summary);
    }
    if (this.state === 'busy' && !this.failure && this.executions.running().length === 0) {
      this.watch.stop();
      this.problems.clear();
      this.setState('ready');
    } else if (this.state === 'busy') {
      this.listener.group(this.info());
    }
  }

  private failedRank(): ExecutionSummary['failedRank'] {
    return this.failure?.rank !== null && this.failure?.rank !== undefined
      ? { rank: this.failure.rank, lastOutput: this.failure.output }
      : undefined;
  }

  private abortRunning(reason: string): void {
    for (const summary of this.executions.running()) {
      for (const rank of summary.ranks) {
        summary.rankStatus[rank] ??= 'aborted';
      }
      const done = this.executions.finish(summary.id, reason, this.failedRank());
      if (done) {
        this.listener.execution(done);
      }
    }
  }

  /** The kernels of the ranks that are running a cell now. */
  private busyKernels(): Map<number, Kernel> {
    const busy = new Set(this.executions.running().flatMap(s => this.stillRunning(s)));
    return new Map(this.ranks.filter(r => busy.has(r.rank)).map(r => [r.rank, r.kernel]));
  }

  private stillRunning(summary: ExecutionSummary): number[] {
    return summary.ranks.filter(rank => summary.rankStatus[rank] === undefined);
  }

  private onRankHealth(rank: number, health: RankHealth): void {
    this.problems.delete(`unresponsive ${rank}`);
    this.problems.delete(`blocked ${rank}`);
    if (health) {
      this.addProblem(rank, health);
    }
    this.listener.group(this.info());
  }

  private addProblem(rank: number, kind: RankProblem['kind']): void {
    this.problems.set(`${kind} ${rank}`, {
      rank,
      kind,
      since: Date.now(),
      message: PROBLEM_TEXT[kind](rank)
    });
  }

  private async killRanks(): Promise<void> {
    await Promise.all(this.ranks.map(r => r.kernel.kill()));
    if (this.shape) {
      fs.rmSync(path.join(this.env.runtimeDir, `rendezvous-${this.shape.runId}`), { force: true });
    }
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
    if (!isRunning(this.state)) {
      throw new ConflictError(
        `group "${this.name}" is ${this.state}${this.failure ? ` (${this.summary().error})` : ''}; start it first`
      );
    }
    if (this.ending) {
      throw new ConflictError(`group "${this.name}" is stopping`);
    }
  }

  private setState(state: GroupState): void {
    this.state = state;
    if (state === 'stopped' || state === 'failed') {
      this.watch.stop();
    }
    this.listener.group(this.info());
  }
}

/** A rank's failure in a start-up step, naming the rank, how it died and its last lines. */
function rankFailed(rank: number, what: string, err: unknown): Error {
  if (err instanceof RankFailedError || err instanceof ConflictError) {
    return err;
  }
  if (err instanceof KernelDiedError) {
    const reason = `rank ${rank} exited (${describeExit(err.exit)}) while ${what}`;
    const lines =
      err.exit.output.length > 0 ? `; its last output:\n${err.exit.output.join('\n')}` : '';
    return new RankFailedError(`${reason}; a restart will retry${lines}`, {
      reason,
      rank,
      output: err.exit.output
    });
  }
  const reason = `rank ${rank} failed while ${what}: ${(err as Error).message}`;
  return new RankFailedError(reason, { reason, rank, output: [] });
}

function overtaken(name: string): string {
  return `group "${name}" was stopped or restarted while it started; start it again`;
}

function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

/**
 * `relative` resolved against `root`, symlinks and all, if it is a folder inside it (a folder
 * named `..foo` is inside; a link out to /etc is not); else null.
 */
function folderInside(root: string, relative: string): string | null {
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(root, relative));
  } catch {
    return null;
  }
  const inside = path.relative(fs.realpathSync(root), real);
  const escapes = inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside);
  return !escapes && fs.statSync(real).isDirectory() ? real : null;
}

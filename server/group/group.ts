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
  StartGroupRequest,
  WarmInfo
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
/** Spares warmed before any start (warm()) end after this long unless a start takes them. */
export const WARM_IDLE_MS = 10 * 60_000;

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
  warmIdleMs?: number;
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
 * folder and GPUs, hands them their ranks instead of starting Python and torch again. `warm()`
 * starts such spares before the first start, for a start that is likely to come.
 */
export class DdpGroup {
  private _state: GroupState = 'stopped';
  private _ranks: Rank[] = [];
  private _shape: GroupShape | null = null;
  private _device: 'gpu' | 'cpu' | null = null;
  private _spec: KernelSpec | null = null;
  private _backend: 'nccl' | 'gloo' | null = null;
  private _notices: string[] = [];
  private _failure: Failure | null = null;
  private _lastRequest: StartGroupRequest = {};
  private _lastPlan: Plan | null = null;
  /** Bumped at every start and stop, so exits of an old generation's ranks are ignored. */
  private _generation = 0;
  private readonly _executions = new ExecutionStore();
  /** execute_request msg_id → the execution and rank it belongs to. */
  private readonly _requests = new Map<string, { execution: string; rank: number }>();
  private readonly _pool: WarmPool;
  private readonly _watch: RankWatch;
  /** By `${kind} ${rank}`. */
  private readonly _problems = new Map<string, RankProblem>();
  /** Executions with a telling of their ranks' ends pending (tellRankEnds). */
  private readonly _rankEndsTold = new Set<string>();
  /** Set while the ranks are being ended (a stop, a rank's death): no new work is taken. */
  private _ending = false;

  constructor(
    readonly name: string,
    private readonly _env: GroupEnvironment,
    private readonly _listener: GroupListener
  ) {
    this._pool = new WarmPool({ runtimeDir: _env.runtimeDir, python: _env.python });
    this._watch = new RankWatch(
      () => this._busyKernels(),
      (rank, health) => this._onRankHealth(rank, health),
      _env.watchTimes
    );
  }

  summary(): GroupSummary {
    const summary: GroupSummary = {
      state: this._state,
      worldSize: this._ranks.length,
      device: this._device
    };
    if (this._failure) {
      summary.error = this._failure.reason;
    }
    if (this._problems.size > 0) {
      summary.problems = [...this._problems.values()];
    }
    return summary;
  }

  info(): GroupInfo {
    return {
      ...this.summary(),
      name: this.name,
      kernelName: this._spec?.name ?? null,
      backend: this._backend,
      ranks: this._ranks.map(r => ({
        rank: r.rank,
        pid: r.pid,
        cudaVisibleDevices: this._shape?.cudaVisibleDevices ?? null,
        alive: r.kernel.isAlive
      })),
      notices: [
        ...this._notices,
        ...(this._failure?.output.length
          ? [`Last output of rank ${this._failure.rank}:\n${this._failure.output.join('\n')}`]
          : [])
      ]
    };
  }

  get worldSize(): number {
    return this._ranks.length;
  }

  /** Start the ranks and resolve once they are ready (process group initialised if asked). */
  async start(request: StartGroupRequest): Promise<GroupInfo> {
    if (this._state === 'starting' || isRunning(this._state)) {
      throw new ConflictError(
        `group "${this.name}" is already ${this._state}; stop or restart it first`
      );
    }
    const generation = this._generation;
    const plan = await this._plan(request);
    if (generation !== this._generation) {
      throw new ConflictError(overtaken(this.name)); // a stop or another start came meanwhile
    }
    return this._launch(request, plan);
  }

  /** End the ranks and the spares. */
  async stop(): Promise<void> {
    await Promise.all([this._end('the group was stopped'), this._pool.clear()]);
  }

  /**
   * Stop, then start again with the same request, kernelspec, folder and devices as last time
   * (resolved then, so nothing is looked up again), on the warm spares where there are.
   */
  async restart(): Promise<GroupInfo> {
    await this._end('the group was restarted');
    return this._launch(this._lastRequest, this._lastPlan ?? (await this._plan(this._lastRequest)));
  }

  /** Resolves once the spares now starting are warm; gives how many are. */
  sparesSettled(): Promise<number> {
    return this._pool.settled();
  }

  /**
   * Start, in the background, the spares that `request`'s start would take (a notebook that needs
   * the ranks was opened): as many as its ranks, of its kernelspec, folder and GPUs, each
   * importing torch and touching no GPU. A warm of another recipe replaces them; they end after
   * `WARM_IDLE_MS` unless a start takes them first, and with `stop()`. Answers at once.
   */
  async warm(request: StartGroupRequest): Promise<WarmInfo> {
    if (request.spares === false) {
      throw new BadRequestError(
        '"spares": false keeps no spares: there is nothing to warm',
        'spares'
      );
    }
    this._requireStoppedForWarm();
    const generation = this._generation;
    const plan = await this._plan(request);
    if (generation !== this._generation) {
      throw new ConflictError(
        `group "${this.name}" was started or stopped meanwhile; warm it again`
      );
    }
    this._requireStoppedForWarm();
    this._pool.fill(recipeOf(plan), plan.worldSize, this._env.warmIdleMs ?? WARM_IDLE_MS);
    return this._pool.info();
  }

  /** The spares kept now. */
  warmInfo(): WarmInfo {
    return this._pool.info();
  }

  /** A group that runs (or starts) keeps spares of its own: warming is for before a start. */
  private _requireStoppedForWarm(): void {
    if (this._state === 'starting' || isRunning(this._state)) {
      throw new ConflictError(
        `group "${this.name}" is already ${this._state}; it keeps its own spares`
      );
    }
  }

  private async _launch(request: StartGroupRequest, plan: Plan): Promise<GroupInfo> {
    // Taken at once, so that a stop or start from now on overtakes this one.
    const generation = ++this._generation;
    this._ending = false;
    this._state = 'starting'; // told below, once its shape is known
    await this._killRanks();
    removeStaleTransferFiles();
    if (request.spares === false) {
      await this._pool.clear();
    }
    if (generation !== this._generation) {
      throw new ConflictError(overtaken(this.name));
    }
    this._lastRequest = request;
    this._lastPlan = plan;
    this._failure = null;
    this._notices = [];
    this._spec = plan.spec;
    this._device = plan.device;
    this._shape = {
      worldSize: plan.worldSize,
      masterPort: null,
      cudaVisibleDevices: plan.cudaVisibleDevices,
      runId: newRunId()
    };
    const recipe = recipeOf(plan);
    this._setState('starting');
    let torch: boolean;
    try {
      await this._spawnRanks(generation, recipe);
      torch = await this._initialise(request, generation);
    } catch (err) {
      if (generation !== this._generation) {
        // A stop() or a new start() took over meanwhile: a conflict, not a failure.
        throw new ConflictError(overtaken(this.name));
      }
      this._generation++;
      await this._killRanks();
      const failed =
        err instanceof RankFailedError ? err : new RankFailedError((err as Error).message);
      this._failure = failed.failure;
      this._setState('failed');
      throw failed;
    }
    this._setState('ready');
    if (torch && request.spares !== false) {
      this._pool.fill(recipe, plan.worldSize);
    }
    return this.info();
  }

  /** End the ranks; every execution still running (or queued) ends as aborted, saying `why`. */
  private async _end(why: string): Promise<void> {
    this._generation++;
    this._ending = true;
    this._watch.stop();
    await this._killRanks();
    removeStaleTransferFiles(); // a rank killed mid-pull leaves its half-written file
    this._abortRunning(why);
    this._ranks = [];
    this._failure = null;
    this._problems.clear();
    this._backend = null;
    this._device = null;
    this._setState('stopped');
  }

  /**
   * Interrupt every rank. A rank whose cell has not ended a few seconds later will not (collectives
   * ignore interrupts): its execution lists it in `interruptIgnored`, and the group reports it as
   * a problem, so that the user (or a headless run) knows that only a restart frees it.
   */
  async interrupt(): Promise<void> {
    this._requireRunning();
    const generation = this._generation;
    const sent = Date.now();
    const running = this._executions.running();
    for (const summary of running) {
      summary.interruptedAt = sent;
    }
    await Promise.allSettled(this._ranks.map(r => r.kernel.interrupt()));
    const timer = setTimeout(() => {
      if (generation === this._generation) {
        this._checkInterrupted(running, sent);
      }
    }, this._env.interruptGraceMs ?? INTERRUPT_GRACE_MS);
    timer.unref();
  }

  private _checkInterrupted(summaries: ExecutionSummary[], sent: number): void {
    let any = false;
    for (const summary of summaries) {
      const stuck = this._stillRunning(summary);
      if (summary.status !== 'running' || summary.interruptedAt !== sent || stuck.length === 0) {
        continue;
      }
      summary.interruptIgnored = stuck;
      for (const rank of stuck) {
        this._addProblem(rank, 'interrupt-ignored');
      }
      this._listener.execution(summary);
      any = true;
    }
    if (any) {
      this._listener.group(this.info());
    }
  }

  /** Run code on all ranks (or some); outputs and the summary arrive through the listener. */
  execute(request: ExecuteRequest): ExecutionSummary {
    this._requireRunning();
    const ranks = this.checkRanks(request.ranks);
    const summary = this._executions.create(ranks, request.cell);
    this._listener.execution(summary);
    this._setState('busy');
    this._watch.start();
    const generation = this._generation;
    const runs = ranks.map(async rank => {
      // A cell on every rank may make the process group again (jupyter_ddp_rank.compat).
      const { msgId, done } = this._ranks[rank].kernel.execute(request.code, {
        metadata: { jupyterDdpAllRanks: ranks.length === this._ranks.length }
      });
      this._requests.set(msgId, { execution: summary.id, rank });
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
        this._requests.delete(msgId);
      }
      this._executions.finishRank(summary.id, rank, status, count);
      // A rank that finished is answering again.
      for (const kind of ['interrupt-ignored', 'unresponsive', 'blocked']) {
        this._problems.delete(`${kind} ${rank}`);
      }
      this._tellRankEnds(summary, generation);
    });
    void Promise.all(runs).then(() => {
      // After a stop or restart, end() ends it (as aborted, saying why), not its killed ranks.
      if (generation === this._generation) {
        this._complete(summary.id);
      }
    });
    return summary;
  }

  /**
   * Ranks that finished while others still run are told a moment later, if the execution still
   * runs then, so that a rank straggling after the others stands out; a cell whose ranks end
   * together (most cells) costs no message for it.
   */
  private _tellRankEnds(summary: ExecutionSummary, generation: number): void {
    if (summary.status !== 'running' || this._rankEndsTold.has(summary.id)) {
      return;
    }
    this._rankEndsTold.add(summary.id);
    setTimeout(() => {
      this._rankEndsTold.delete(summary.id);
      if (summary.status === 'running' && generation === this._generation) {
        this._listener.execution(summary);
      }
    }, RANK_END_NOTICE_MS).unref();
  }

  /** Load a transfer file into the chosen ranks' namespaces (default all), or into none. */
  async push(request: PushRequest): Promise<PushResult> {
    this._requireRunning();
    return transfers.push(this._kernelsOf(this.checkRanks(request.ranks)), request.file);
  }

  /** One rank writes the named values to a transfer file. */
  async pull(request: PullRequest): Promise<PullResult> {
    this._requireRunning();
    const [rank] = this.checkRanks([request.rank ?? 0]);
    return transfers.pull(this._ranks[rank].kernel, rank, request.names);
  }

  /** Run a transfer file's function on the chosen ranks (default all) at once. */
  async call(request: CallRequest): Promise<CallResult> {
    this._requireRunning();
    return transfers.call(this._kernelsOf(this.checkRanks(request.ranks)), request.file);
  }

  private _kernelsOf(ranks: number[]): Map<number, Kernel> {
    return new Map(ranks.map(rank => [rank, this._ranks[rank].kernel]));
  }

  /** Kept executions' summaries, oldest first (a reloaded page finds its running cells here). */
  listExecutions(): ExecutionSummary[] {
    return this._executions.list();
  }

  record(execution: string, since?: number) {
    return this._executions.record(execution, since);
  }

  /** Validate a start request against the machine before touching anything. */
  private async _plan(request: StartGroupRequest): Promise<Plan> {
    const spec = await getKernelSpec(request.kernelName ?? 'python3').catch((err: unknown) => {
      throw new BadRequestError((err as Error).message, 'kernelName');
    });
    const cwd = folderInside(this._env.rootDir, request.cwd ?? '.');
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

  private async _spawnRanks(generation: number, recipe: SpareRecipe): Promise<void> {
    const shape = this._shape!;
    this._ranks = [];
    const started = await Promise.allSettled(
      Array.from({ length: shape.worldSize }, (_, rank) => this._startRank(rank, recipe))
    );
    const kernels = started.flatMap(r => (r.status === 'fulfilled' ? [r.value] : []));
    if (generation !== this._generation) {
      await Promise.all(kernels.map(k => k.kill()));
      throw new ConflictError('the group was stopped while starting');
    }
    for (const [rank, result] of started.entries()) {
      if (result.status === 'fulfilled') {
        this._ranks.push({ rank, kernel: result.value, pid: null });
        void result.value.exited.then(exit => this._onRankExit(generation, rank, exit));
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
  private async _startRank(rank: number, recipe: SpareRecipe): Promise<Kernel> {
    const label = `rank ${rank}`;
    const env = rankEnvironment(rank, this._shape!);
    const onIopub = (msg: JupyterMessage) => this._onIopub(rank, msg);
    const spare = await this._pool.take(recipe)?.catch(() => null);
    if (spare) {
      try {
        spare.adopt(label, onIopub);
        await withTimeout(
          callRank(spare, 'setEnvironment', { env }),
          this._startStepMs,
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
      runtimeDir: this._env.runtimeDir,
      cwd: recipe.cwd,
      env,
      python: this._env.python,
      onIopub,
      readyTimeoutMs: this._startStepMs
    });
  }

  private get _startStepMs(): number {
    return this._env.startStepTimeoutMs ?? START_STEP_TIMEOUT_MS;
  }

  /**
   * Import torch everywhere at once, then make the process group through a rendezvous file in
   * the private runtime folder (nothing listens on any interface for it). Each step is bounded and
   * a rank that fails it is named. Resolves with whether torch is importable on the ranks.
   */
  private async _initialise(request: StartGroupRequest, generation: number): Promise<boolean> {
    const prepared = await this._everyRank('importing torch', async r => {
      const info = await callRank(r.kernel, 'prepare', {});
      r.pid = info.pid;
      return info;
    });
    if (generation !== this._generation) {
      throw new ConflictError('the group was stopped while starting');
    }
    // torchrun's MASTER_PORT, for code that reads it; our own rendezvous needs no port.
    const port = await freeLoopbackPort();
    this._shape!.masterPort = port;
    const torch = prepared[0];
    if (!torch.torch || request.initProcessGroup === false) {
      await this._everyRank('setting its environment', r =>
        callRank(r.kernel, 'setEnvironment', { env: { MASTER_PORT: String(port) } })
      );
      if (!torch.torch) {
        this._backend = null;
        this._notices.push(
          `torch is not importable on the ranks (${torch.error}); they run as a plain parallel kernel pool.`
        );
        return false;
      }
      this._notices.push('The torch process group was not initialised (initProcessGroup: false).');
      return true;
    }
    const backend = this._device === 'gpu' ? 'nccl' : 'gloo';
    const timeout = request.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const store = path.join(this._env.runtimeDir, `rendezvous-${this._shape!.runId}`);
    await this._everyRank('initialising the process group', r =>
      callRank(r.kernel, 'initProcessGroup', { backend, timeout, store, port })
    );
    this._backend = backend;
    return true;
  }

  /**
   * One start-up step on every rank at once, bounded in time. A rank that dies, fails or does not
   * answer in time fails the start, named with why: a stopped process (no heartbeat) is named
   * before the ranks that merely wait for it.
   */
  private async _everyRank<T>(what: string, work: (r: Rank) => Promise<T>): Promise<T[]> {
    const limitMs = this._startStepMs;
    const done = new Set<number>();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => void this._lateRanks(what, limitMs, done).then(reject), limitMs);
    });
    const steps = this._ranks.map(r =>
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

  private async _lateRanks(what: string, limitMs: number, done: Set<number>): Promise<Error> {
    const late = this._ranks.filter(r => !done.has(r.rank));
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

  private _onIopub(rank: number, msg: JupyterMessage): void {
    const request = this._requests.get(parentId(msg) ?? '');
    if (!request || !isOutputMsgType(msg.header.msg_type)) {
      return;
    }
    const event = this._executions.addOutput(
      request.execution,
      rank,
      msg.header.msg_type,
      msg.content
    );
    if (event) {
      this._listener.output(event, msg.rawContent);
    }
  }

  private _onRankExit(generation: number, rank: number, exit: KernelExit): void {
    if (generation !== this._generation || this._failure) {
      return;
    }
    const reason = `rank ${rank} exited (${describeExit(exit)})`;
    this._failure = { reason, rank, output: exit.output };
    this._ending = true;
    this._watch.stop();
    // The survivors would block in their next collective: end them now.
    void this._killRanks().then(() => {
      if (generation === this._generation) {
        this._abortRunning(reason);
        this._problems.clear();
        this._setState('failed');
      }
    });
  }

  private _complete(execution: string): void {
    const summary = this._executions.finish(execution, this._failure?.reason, this._failedRank());
    if (summary) {
      this._listener.execution(summary);
    }
    if (this._state === 'busy' && !this._failure && this._executions.running().length === 0) {
      this._watch.stop();
      this._problems.clear();
      this._setState('ready');
    } else if (this._state === 'busy') {
      this._listener.group(this.info());
    }
  }

  private _failedRank(): ExecutionSummary['failedRank'] {
    return this._failure?.rank !== null && this._failure?.rank !== undefined
      ? { rank: this._failure.rank, lastOutput: this._failure.output }
      : undefined;
  }

  private _abortRunning(reason: string): void {
    for (const summary of this._executions.running()) {
      for (const rank of summary.ranks) {
        summary.rankStatus[rank] ??= 'aborted';
      }
      const done = this._executions.finish(summary.id, reason, this._failedRank());
      if (done) {
        this._listener.execution(done);
      }
    }
  }

  /** The kernels of the ranks that are running a cell now. */
  private _busyKernels(): Map<number, Kernel> {
    const busy = new Set(this._executions.running().flatMap(s => this._stillRunning(s)));
    return new Map(this._ranks.filter(r => busy.has(r.rank)).map(r => [r.rank, r.kernel]));
  }

  private _stillRunning(summary: ExecutionSummary): number[] {
    return summary.ranks.filter(rank => summary.rankStatus[rank] === undefined);
  }

  private _onRankHealth(rank: number, health: RankHealth): void {
    this._problems.delete(`unresponsive ${rank}`);
    this._problems.delete(`blocked ${rank}`);
    if (health) {
      this._addProblem(rank, health);
    }
    this._listener.group(this.info());
  }

  private _addProblem(rank: number, kind: RankProblem['kind']): void {
    this._problems.set(`${kind} ${rank}`, {
      rank,
      kind,
      since: Date.now(),
      message: PROBLEM_TEXT[kind](rank)
    });
  }

  private async _killRanks(): Promise<void> {
    await Promise.all(this._ranks.map(r => r.kernel.kill()));
    if (this._shape) {
      fs.rmSync(path.join(this._env.runtimeDir, `rendezvous-${this._shape.runId}`), {
        force: true
      });
    }
  }

  /** The ranks named (all by default), each existing and named once. */
  checkRanks(ranks?: number[]): number[] {
    if (ranks === undefined) {
      return this._ranks.map(r => r.rank);
    }
    for (const rank of ranks) {
      if (!Number.isInteger(rank) || rank < 0 || rank >= this._ranks.length) {
        throw new NotFoundError(
          `rank ${rank} does not exist: group "${this.name}" has ranks 0-${this._ranks.length - 1}`
        );
      }
    }
    if (new Set(ranks).size !== ranks.length || ranks.length === 0) {
      throw new BadRequestError('ranks must name each rank once, and at least one', 'ranks');
    }
    return ranks;
  }

  private _requireRunning(): void {
    if (!isRunning(this._state)) {
      throw new ConflictError(
        `group "${this.name}" is ${this._state}${this._failure ? ` (${this.summary().error})` : ''}; start it first`
      );
    }
    if (this._ending) {
      throw new ConflictError(`group "${this.name}" is stopping`);
    }
  }

  private _setState(state: GroupState): void {
    this._state = state;
    if (state === 'stopped' || state === 'failed') {
      this._watch.stop();
    }
    this._listener.group(this.info());
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

/** How the spares of a planned start are made: the ranks' kernelspec, folder and shared environment. */
function recipeOf(plan: Plan): SpareRecipe {
  return { spec: plan.spec, cwd: plan.cwd, env: sharedEnvironment(plan.cudaVisibleDevices) };
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

import { ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

import { SlurmOptions } from '../../../src/protocol/api';
import { guarded } from '../../process/guard';
import { exited, terminateGroup } from '../../process/tree';
import { hostNames, jobState, nodeAddress, slurm } from './commands';

/** How often a queued job's reason is asked for, and a granted job's state checked. */
const POLL_MS = 1000;
/** How long salloc may take to give up its allocation when told to. */
const RELEASE_GRACE_MS = 10_000;
/** The states of a job whose allocation is still there. */
const HELD_STATES = new Set(['RUNNING', 'CONFIGURING', 'COMPLETING']);

/** One node of an allocation: its Slurm name and the address its ranks are reached at. */
export interface AllocatedNode {
  name: string;
  address: string;
}

export interface AllocationRequest {
  /** The job's name in squeue. */
  jobName: string;
  options: SlurmOptions;
  /** Python that runs the guard which ties the allocation's life to this server's. */
  python: string;
  /** Told while Slurm queues the job: its id and Slurm's reason (`Resources`, `Priority`). */
  onQueued?(jobId: string, reason: string): void;
  /** Aborting it while queued cancels the job. */
  signal?: AbortSignal;
}

/** salloc's options for `options`: what the user asked Slurm for, as salloc takes it. */
export function sallocArgs(jobName: string, options: SlurmOptions): string[] {
  const perNode = options.gpusPerNode ?? options.tasksPerNode ?? 1;
  return [
    `--job-name=${jobName}`,
    `--nodes=${options.nodes}`,
    `--ntasks-per-node=${perNode}`,
    ...(options.gpusPerNode !== undefined ? [`--gpus-per-node=${options.gpusPerNode}`] : []),
    ...(options.partition ? [`--partition=${options.partition}`] : []),
    ...(options.account ? [`--account=${options.account}`] : []),
    ...(options.time ? [`--time=${options.time}`] : []),
    ...(options.constraint ? [`--constraint=${options.constraint}`] : []),
    ...(options.extraArgs ?? [])
  ];
}

/**
 * A Slurm allocation held for a group: salloc holds it, under a guard that tells it to give it
 * back when this server ends (even by SIGKILL), so no job outlives the server. `release()` gives
 * it back now; `ended` resolves, with Slurm's words, when it ends any other way (scancel, the
 * time limit, a node failure): as soon as salloc says so, or the job's state does.
 */
export class SlurmAllocation {
  /** Resolves with why the allocation ended, unless `release()` ended it. */
  readonly ended: Promise<string>;
  private _released = false;
  private _end!: (why: string) => void;
  private readonly _poll: NodeJS.Timeout;

  private constructor(
    readonly jobId: string,
    readonly nodes: AllocatedNode[],
    private readonly _salloc: ChildProcess,
    said: SallocLines
  ) {
    this.ended = new Promise(resolve => (this._end = resolve));
    said.onLine = line => {
      if (/revoked|cancelled|time limit|node failure/i.test(line)) {
        this._ended(`Slurm ended job ${jobId}: ${withoutPrefix(line)}`);
      }
    };
    void exited(_salloc).then(() =>
      this._ended(`Slurm ended job ${jobId}: ${said.last() || 'its allocation ended'}`)
    );
    this._poll = setInterval(() => {
      void jobState(jobId)
        .then(state => {
          if (!state || !HELD_STATES.has(state.state)) {
            const how = state
              ? `${state.state}${state.reason ? ` (${state.reason})` : ''}`
              : 'gone';
            this._ended(`Slurm ended job ${jobId}: it is ${how}`);
          }
        })
        .catch(() => undefined); // the controller did not answer: asked again in a second
    }, POLL_MS);
  }

  /** Ask Slurm for an allocation and wait until it is granted (or fails, or is aborted). */
  static async request(request: AllocationRequest): Promise<SlurmAllocation> {
    const { signal } = request;
    signal?.throwIfAborted();
    // salloc holds the allocation while its command (a sleep) runs; under the guard, it is told
    // to give it back when this server ends, even by SIGKILL.
    const [python, argv] = guarded(
      request.python,
      ['salloc', ...sallocArgs(request.jobName, request.options), '--', 'sleep', 'infinity'],
      RELEASE_GRACE_MS / 1000
    );
    const salloc = spawn(python, argv, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    const said = new SallocLines(salloc);
    let jobId: string | null = null;
    let reasonTold: string | null = null;
    const tellQueued = (reason: string) => {
      if (reason !== reasonTold) {
        reasonTold = reason;
        request.onQueued?.(jobId!, reason);
      }
    };
    const poll = setInterval(() => {
      if (jobId) {
        void jobState(jobId)
          .then(state => state?.state === 'PENDING' && tellQueued(state.reason))
          .catch(() => undefined); // asked again in a second
      }
    }, POLL_MS);
    let onAbort = () => undefined as void;
    try {
      await new Promise<void>((resolve, reject) => {
        onAbort = () => reject(signal!.reason ?? new Error('the start was cancelled'));
        signal?.addEventListener('abort', onAbort, { once: true });
        said.onLine = line => {
          const pending = /Pending job allocation (\d+)/.exec(line);
          const granted = /Granted job allocation (\d+)/.exec(line);
          if (pending) {
            jobId = pending[1];
            tellQueued('');
          } else if (granted) {
            jobId = granted[1];
            resolve();
          }
        };
        salloc.once('error', reject);
        salloc.once('exit', code =>
          reject(
            new Error(
              code === 127
                ? "salloc is not on this server's PATH: is Slurm's client installed here?"
                : `Slurm gave no allocation: ${said.last() || 'salloc ended'}`
            )
          )
        );
      });
      const nodes = await allocatedNodes(jobId!);
      return new SlurmAllocation(jobId!, nodes, salloc, said);
    } catch (err) {
      await giveBack(salloc, jobId);
      throw err;
    } finally {
      clearInterval(poll);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Give the allocation back: every step and process of the job ends. */
  async release(): Promise<void> {
    this._released = true;
    clearInterval(this._poll);
    await giveBack(this._salloc, this.jobId);
  }

  get released(): boolean {
    return this._released;
  }

  private _ended(why: string): void {
    clearInterval(this._poll);
    if (!this._released) {
      this._end(why);
    }
    void giveBack(this._salloc, null); // salloc may wait for its command: end it
  }
}

/** salloc's stderr, line by line: what it said that tells why, and a hook for each new line. */
class SallocLines {
  onLine: (line: string) => void = () => undefined;
  private readonly _telling: string[] = [];

  constructor(salloc: ChildProcess) {
    const lines = createInterface({ input: salloc.stderr! });
    lines.on('error', () => undefined); // salloc's exit says the rest
    lines.on('line', raw => {
      const line = raw.trim();
      if (!line) {
        return;
      }
      if (!/(Granted|Pending) job allocation|queued and waiting|Relinquishing/.test(line)) {
        this._telling.push(line);
      }
      this.onLine(line);
    });
  }

  /** The last line that tells something (an error, the revocation), without salloc's prefix. */
  last(): string {
    return withoutPrefix(this._telling.at(-1) ?? '');
  }
}

function withoutPrefix(line: string): string {
  return line.replace(/^salloc:\s*(error:\s*)?/, '');
}

/** The nodes of a granted job, in Slurm's order (the first is where rank 0 runs). */
async function allocatedNodes(jobId: string): Promise<AllocatedNode[]> {
  const list = (await slurm('squeue', ['-h', '-j', jobId, '-o', '%N'])).trim();
  const names = await hostNames(list);
  return Promise.all(names.map(async name => ({ name, address: await nodeAddress(name) })));
}

/** Cancel the job (queued or running) and end salloc and the guard it runs under. */
async function giveBack(salloc: ChildProcess, jobId: string | null): Promise<void> {
  if (jobId) {
    await slurm('scancel', [jobId]).catch(() => undefined); // already gone
  }
  await terminateGroup(salloc, RELEASE_GRACE_MS);
}

/**
 * The `/ddp/api` contract shared by the JupyterLab frontend (src/) and the Node server (server/).
 * Types, constants and a few pure functions only: this module must load in both the browser and
 * Node.
 */

/** Mount point of every REST route and the WebSocket, relative to the Jupyter base URL. */
export const API_PREFIX = 'ddp/api';

/** WebSocket path, relative to the Jupyter base URL. */
export const WS_PATH = `${API_PREFIX}/ws`;

/** The server's one group: the ranks take every GPU of the machine, so there is no second. */
export const DEFAULT_GROUP = 'default';

/** Lifecycle of a DDP group. */
export type GroupState = 'starting' | 'ready' | 'busy' | 'failed' | 'stopped';

/** Whether a group in `state` has its ranks up, able to run cells (idle or not). */
export function isRunning(state: GroupState): boolean {
  return state === 'ready' || state === 'busy';
}

/** What kind of device each rank drives. */
export type DeviceKind = 'gpu' | 'cpu';

/** A one-glance description of the group, enough for the status bar. */
export interface GroupSummary {
  state: GroupState;
  /** Number of ranks; 0 while stopped. */
  worldSize: number;
  device: DeviceKind | null;
  /** Human-readable reason when `state` is `failed`. */
  error?: string;
  /** What is wrong with ranks of a running group right now (none: empty or absent). */
  problems?: RankProblem[];
}

/**
 * Something wrong with one rank of a running group that the user must see and act on; the group
 * keeps running (nothing is stopped for it), and the problem goes when the rank recovers.
 * - `unresponsive`: its process answers no heartbeat (stopped with SIGSTOP, frozen, swapped out);
 * - `blocked`: its process is alive but its Python answers nothing (C code holding the GIL);
 * - `interrupt-ignored`: an interrupt did not end its cell within a few seconds (a collective
 *   ignores interrupts): only a restart of the group frees it.
 */
export interface RankProblem {
  rank: number;
  kind: 'unresponsive' | 'blocked' | 'interrupt-ignored';
  /** When it was noticed (server clock, ms since the epoch). */
  since: number;
  /** What is wrong and what to do, one sentence naming the rank. */
  message: string;
}

/** `GET /ddp/api/health` */
export interface HealthResponse {
  status: 'ok';
  /** Version of the jupyter-ddp server package. */
  version: string;
  group: GroupSummary;
}

/** Every error body the API returns. */
export interface ApiError {
  error: string;
  /** The request field at fault, when one is. */
  field?: string;
}

/** One rank of a running group. */
export interface RankInfo {
  rank: number;
  /** The kernel's own pid (null until it has reported it). */
  pid: number | null;
  /** CUDA_VISIBLE_DEVICES of this rank; null on CPU ranks. */
  cudaVisibleDevices: string | null;
  alive: boolean;
}

/** `GET /ddp/api/groups/:group` */
export interface GroupInfo extends GroupSummary {
  name: string;
  kernelName: string | null;
  /** torch.distributed backend, or null when no process group was initialised. */
  backend: 'nccl' | 'gloo' | null;
  ranks: RankInfo[];
  /** Notices such as "torch is not importable: ranks run as a plain kernel pool". */
  notices: string[];
}

/** `POST /ddp/api/groups/:group` — start a group. Every field is optional. */
/** What a group asks Slurm for (`"launcher": "slurm"`): the options users give `salloc`. */
export interface SlurmOptions {
  /** Nodes of the allocation (`--nodes`). */
  nodes: number;
  /** GPUs per node (`--gpus-per-node`), one rank each; for GPU ranks. */
  gpusPerNode?: number;
  /** Ranks per node (`--ntasks-per-node`) when they are CPU ranks. */
  tasksPerNode?: number;
  partition?: string;
  account?: string;
  /** The time limit, in Slurm's forms (`30`, `1:00:00`, `2-0`). */
  time?: string;
  /** Node features (`--constraint`). */
  constraint?: string;
  /** More `salloc` options, passed as they are (`["--qos=debug"]`). */
  extraArgs?: string[];
}

export interface StartGroupRequest {
  /** Number of CPU ranks when there is no GPU (default 2); with GPUs, must match the GPUs chosen. */
  ranks?: number;
  /** Number of ranks when the machine has no GPU, unless `ranks` is given (default 2). */
  cpuRanks?: number;
  /** "all" or GPU indices such as [0, 2]; ignored on machines without GPUs. */
  gpus?: 'all' | number[];
  /** Kernelspec the ranks start from (default "python3"; the UI sends the notebook's). */
  kernelName?: string;
  /** Initialise torch.distributed at start (default true when torch is importable). */
  initProcessGroup?: boolean;
  /** Collective timeout in seconds (default 1800, torch's own default). */
  timeoutSeconds?: number;
  /** Working directory of the ranks, relative to the served root (default the root). */
  cwd?: string;
  /**
   * Keep one warm spare kernel per rank (torch imported, no GPU touched) so that a restart takes
   * about a second (default true); false saves their memory.
   */
  spares?: boolean;
}

/**
 * `GET` and `POST /ddp/api/groups/:group/warm`: the warm spare kernels kept for the group's next
 * start or restart (torch imported, no GPU touched).
 */
export interface WarmInfo {
  /** Kernelspec the spares were started from; null when none are kept. */
  kernelName: string | null;
  /** How many spares are kept: one group's ranks (0: none). */
  size: number;
  /** Spares alive now, warm or still importing torch (fewer than `size` while one is replaced). */
  spares: number;
  /** Of them, those that have imported torch: ready to become ranks. */
  warm: number;
  /**
   * When spares warmed before any start end, unless a start takes them first (server clock, ms
   * since the epoch); null when none are kept or they are a started group's.
   */
  expiresAt: number | null;
}

/** The notebook cell an execution runs for, so a reloaded page can find it again. */
export interface CellRef {
  /** The notebook's path, relative to the served root. */
  notebook: string;
  /** The cell's nbformat id. */
  cellId: string;
}

/** `POST /ddp/api/groups/:group/executions` */
export interface ExecuteRequest {
  code: string;
  /** Ranks to run on (default all). */
  ranks?: number[];
  cell?: CellRef;
}

export type ExecutionStatus = 'running' | 'ok' | 'error' | 'aborted';

export interface ExecutionSummary {
  id: string;
  ranks: number[];
  cell?: CellRef;
  status: ExecutionStatus;
  /** Per rank: 'ok' | 'error' | 'aborted' once that rank is done. */
  rankStatus: Record<number, ExecutionStatus>;
  /** execution_count of each rank's reply. */
  executionCount: Record<number, number | null>;
  /** Set when the group failed during the execution, or it was stopped or restarted. */
  failure?: string;
  /** With `failure` from a rank's death: that rank and its last output lines. */
  failedRank?: { rank: number; lastOutput: string[] };
  /** When it started (server clock, ms since the epoch). */
  startedAt: number;
  /** When each finished rank finished (server clock, ms since the epoch). */
  rankEndedAt: Record<number, number>;
  /** The seq the next output will get: a client that has applied every seq below it missed nothing. */
  nextSeq: number;
  /** When the last interrupt of this execution was sent (server clock). */
  interruptedAt?: number;
  /** Ranks still running a few seconds after an interrupt: only a restart of the group frees them. */
  interruptIgnored?: number[];
}

/**
 * `POST /ddp/api/groups/:group/push`: load a transfer file (written by the notebook kernel's
 * client, see server/py/jupyter_ddp_values.py) into every chosen rank's namespace, or into none.
 */
export interface PushRequest {
  file: string;
  /** Ranks to push to (default all). */
  ranks?: number[];
}

export interface PushResult {
  ranks: number[];
  names: string[];
}

/** `POST /ddp/api/groups/:group/pull`: one rank writes the named values to a transfer file. */
export interface PullRequest {
  names: string[];
  /** Default 0. */
  rank?: number;
}

export interface PullResult {
  rank: number;
  /** The transfer file to read; its reader deletes it. */
  file: string;
  /** Names whose value was a DistributedDataParallel: the file holds its `.module`. */
  unwrapped?: string[];
}

/** `POST /ddp/api/groups/:group/call`: run a transfer file's `fn(*args, **kwargs)` on the ranks. */
export interface CallRequest {
  file: string;
  ranks?: number[];
}

export interface CallResult {
  /** One per rank, in rank order: its result's transfer file, or its error; what fn printed. */
  results: {
    rank: number;
    file?: string;
    error?: string;
    traceback?: string;
    output: string;
  }[];
}

/**
 * `GET /ddp/api/kernel-client`: what a notebook kernel runs to get `ddp` (push, pull, run) and
 * Ddip's line magics, and how it reaches this server: `url` and a `key` that the server accepts
 * from kernels as `Authorization: token KEY` (the user never sees or copies it).
 */
export interface KernelClientInfo {
  code: string;
  url: string;
  key: string;
  group: string;
}

/**
 * Kernel iopub message types relayed to clients, unchanged from the Jupyter protocol: the outputs,
 * and each rank's busy/idle `status`.
 */
export const OUTPUT_MSG_TYPES = [
  'status',
  'stream',
  'display_data',
  'update_display_data',
  'execute_result',
  'error',
  'clear_output'
] as const;

export type OutputMsgType = (typeof OUTPUT_MSG_TYPES)[number];

const outputMsgTypes: ReadonlySet<string> = new Set(OUTPUT_MSG_TYPES);

/** Whether a kernel message of type `msgType` is relayed (see `OUTPUT_MSG_TYPES`). */
export function isOutputMsgType(msgType: string): msgType is OutputMsgType {
  return outputMsgTypes.has(msgType);
}

/**
 * One output message of one rank, tagged with its execution and a per-execution sequence number.
 * Outputs are numbered 0, 1, 2, … with no gaps; `status` events (busy/idle) are not outputs: they
 * carry the seq the next output will get, are not kept for replay, and a client may leave them
 * out (`?omit=status`) without seeing a gap.
 */
export interface OutputEvent {
  execution: string;
  rank: number;
  seq: number;
  msgType: OutputMsgType;
  content: Record<string, unknown>;
}

/** `GET /ddp/api/groups/:group/executions/:id?since=SEQ` — what a reconnecting client missed. */
export interface ExecutionRecord {
  execution: ExecutionSummary;
  outputs: OutputEvent[];
  /** Outputs dropped from the bounded buffer, oldest first: those kept start at seq `dropped`. */
  dropped: number;
}

/** The first message on every WebSocket. */
export interface HelloMessage {
  type: 'hello';
  version: string;
  /** New at every start of the server process: a client that sees it change knows it restarted. */
  serverId: string;
  /**
   * Why the server process before this one ended, when the Jupyter server extension that runs it
   * started it again (`exited with signal SIGKILL`); absent after a first start.
   */
  restartedAfter?: string;
  group: GroupSummary;
  serverTime: number;
}

/** Messages the server pushes over the WebSocket. */
export type ServerMessage =
  | HelloMessage
  | { type: 'group'; group: GroupInfo }
  | { type: 'output'; group: string; event: OutputEvent }
  | { type: 'execution'; group: string; execution: ExecutionSummary }
  | ExecuteReply;

/**
 * Messages a client sends over the WebSocket: an execution started this way costs no HTTP
 * request, and its reply comes before any of its outputs. `id` is the client's, echoed back.
 */
export type ClientMessage = { type: 'execute'; id: number; group: string; request: ExecuteRequest };

/** To the client that sent an `execute`: the execution, or what `POST .../executions` would say. */
export type ExecuteReply =
  | { type: 'executeReply'; id: number; execution: ExecutionSummary }
  | { type: 'executeReply'; id: number; status: number; error: ApiError };

import { randomUUID } from 'node:crypto';

import {
  CellRef,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
  OutputEvent,
  OutputMsgType
} from '../../src/protocol/api';

export interface ExecutionLimits {
  /** Executions kept for clients that reconnect; older ones are forgotten. */
  maxExecutions: number;
  /** Bytes of output kept per execution; beyond it the oldest outputs are dropped. */
  maxBytesPerExecution: number;
}

export const DEFAULT_LIMITS: ExecutionLimits = {
  maxExecutions: 50,
  maxBytesPerExecution: 16 * 1024 * 1024
};

interface Entry {
  summary: ExecutionSummary;
  outputs: OutputEvent[];
  sizes: number[];
  bytes: number;
  dropped: number;
}

/** Every execution's summary and outputs, bounded in count and in bytes. */
export class ExecutionStore {
  private _entries = new Map<string, Entry>();

  constructor(private readonly _limits: ExecutionLimits = DEFAULT_LIMITS) {}

  create(ranks: number[], cell?: CellRef): ExecutionSummary {
    const summary: ExecutionSummary = {
      id: randomUUID(),
      ranks,
      ...(cell ? { cell } : {}),
      status: 'running',
      rankStatus: {},
      executionCount: {},
      startedAt: Date.now(),
      rankEndedAt: {},
      nextSeq: 0
    };
    this._entries.set(summary.id, { summary, outputs: [], sizes: [], bytes: 0, dropped: 0 });
    this._evict();
    return summary;
  }

  /**
   * Forget the oldest finished executions beyond the limit. Queued and running ones are never
   * forgotten: their outputs and their end must still reach the clients.
   */
  private _evict(): void {
    let excess = this._entries.size - this._limits.maxExecutions;
    for (const [id, entry] of this._entries) {
      if (excess <= 0) {
        break;
      }
      if (entry.summary.status !== 'running') {
        this._entries.delete(id);
        excess--;
      }
    }
  }

  /**
   * Record one output; returns the tagged event (also when it had to evict older ones). Outputs
   * are numbered without gaps; a `status` event is no output: it carries the next output's seq and
   * is not kept, so a client that leaves status events out sees no gap.
   */
  addOutput(
    execution: string,
    rank: number,
    msgType: OutputMsgType,
    content: Record<string, unknown>
  ): OutputEvent | null {
    const entry = this._entries.get(execution);
    if (!entry) {
      return null;
    }
    const summary = entry.summary;
    if (msgType === 'status') {
      return { execution, rank, seq: summary.nextSeq, msgType, content };
    }
    const event: OutputEvent = { execution, rank, seq: summary.nextSeq++, msgType, content };
    const size = weigh(msgType, content);
    entry.outputs.push(event);
    entry.sizes.push(size);
    entry.bytes += size;
    while (entry.bytes > this._limits.maxBytesPerExecution && entry.outputs.length > 1) {
      entry.outputs.shift();
      entry.bytes -= entry.sizes.shift() ?? 0;
      entry.dropped++;
    }
    return event;
  }

  finishRank(
    execution: string,
    rank: number,
    status: ExecutionStatus,
    executionCount: number | null
  ): ExecutionSummary | null {
    const entry = this._entries.get(execution);
    if (entry) {
      entry.summary.rankStatus[rank] = status;
      entry.summary.executionCount[rank] = executionCount;
      entry.summary.rankEndedAt[rank] = Date.now();
    }
    return entry?.summary ?? null;
  }

  get(execution: string): ExecutionSummary | null {
    return this._entries.get(execution)?.summary ?? null;
  }

  finish(
    execution: string,
    failure?: string,
    failedRank?: ExecutionSummary['failedRank']
  ): ExecutionSummary | null {
    const entry = this._entries.get(execution);
    if (!entry || entry.summary.status !== 'running') {
      return null; // unknown, or ended already (a stop ended it before its ranks did)
    }
    const statuses = entry.summary.ranks.map(r => entry.summary.rankStatus[r] ?? 'aborted');
    entry.summary.status = statuses.includes('error')
      ? 'error'
      : statuses.includes('aborted')
        ? 'aborted'
        : 'ok';
    if (failure) {
      entry.summary.failure = failure;
      if (failedRank) {
        entry.summary.failedRank = failedRank;
      }
    }
    return entry.summary;
  }

  /** Every kept execution's summary, oldest first. */
  list(): ExecutionSummary[] {
    return [...this._entries.values()].map(e => e.summary);
  }

  running(): ExecutionSummary[] {
    return [...this._entries.values()].map(e => e.summary).filter(s => s.status === 'running');
  }

  /** Outputs with seq >= since, for a client catching up; null for an unknown execution. */
  record(execution: string, since = 0): ExecutionRecord | null {
    const entry = this._entries.get(execution);
    if (!entry) {
      return null;
    }
    return {
      execution: entry.summary,
      outputs: entry.outputs.filter(o => o.seq >= since),
      dropped: entry.dropped
    };
  }
}

/** About what an output weighs as JSON, without serialising a big stream text once more. */
function weigh(msgType: OutputMsgType, content: Record<string, unknown>): number {
  return msgType === 'stream' && typeof content.text === 'string'
    ? content.text.length + 32
    : JSON.stringify(content).length;
}

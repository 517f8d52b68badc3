import { Kernel } from '../kernel/kernel';

/** How often the ranks are asked, and how long a silence means a problem. */
export interface RankWatchTimes {
  intervalMs: number;
  /** No heartbeat echo for this long: the process is stopped or frozen. */
  unresponsiveMs: number;
  /** Heartbeat fine, but no control-channel answer for this long: Python is blocked. */
  blockedMs: number;
}

export const DEFAULT_WATCH_TIMES: RankWatchTimes = {
  intervalMs: 2000,
  unresponsiveMs: 8000,
  blockedMs: 8000
};

/** What the watch found about one rank: nothing wrong (null), or which kind of silence. */
export type RankHealth = 'unresponsive' | 'blocked' | null;

interface Heard {
  heartbeat: number;
  control: number;
  health: RankHealth;
}

/**
 * While a cell runs, asks every rank's process (heartbeat: ipykernel echoes it from a thread that
 * needs no GIL) and its Python (a control-channel kernel_info: needs the GIL) whether they are
 * there. A rank busy in a collective or a long computation answers both; a stopped process
 * answers neither; C code holding the GIL answers the heartbeat only. A change of a rank's health
 * is reported once; nothing is stopped.
 */
export class RankWatch {
  private _timer: NodeJS.Timeout | null = null;
  /** Ranks busy at the last tick, since when they were heard. */
  private _heard = new Map<number, Heard>();
  private _asking = new Set<number>();

  constructor(
    private readonly _ranks: () => ReadonlyMap<number, Kernel>,
    private readonly _report: (rank: number, health: RankHealth) => void,
    private readonly _times: RankWatchTimes = DEFAULT_WATCH_TIMES
  ) {}

  /** Watch the busy ranks until stop(); a rank is watched from when it is first seen busy. */
  start(): void {
    this._timer ??= setInterval(() => this._tick(), this._times.intervalMs);
    this._timer.unref();
  }

  /** Stop asking; ranks reported unwell are reported well again (their cell has ended). */
  stop(): void {
    if (this._timer) {
      clearInterval(this._timer);
      this._timer = null;
    }
    for (const rank of [...this._heard.keys()]) {
      this._forget(rank);
    }
  }

  private _tick(): void {
    const busy = this._ranks();
    for (const rank of [...this._heard.keys()]) {
      if (!busy.has(rank)) {
        this._forget(rank); // its cell ended: it answered
      }
    }
    const now = Date.now();
    for (const [rank, kernel] of busy) {
      if (!this._heard.has(rank)) {
        this._heard.set(rank, { heartbeat: now, control: now, health: null });
      }
      if (!this._asking.has(rank) && kernel.isAlive) {
        this._asking.add(rank);
        void this._ask(rank, kernel).finally(() => this._asking.delete(rank));
      }
    }
  }

  private _forget(rank: number): void {
    const heard = this._heard.get(rank);
    this._heard.delete(rank);
    if (heard?.health) {
      this._report(rank, null);
    }
  }

  private async _ask(rank: number, kernel: Kernel): Promise<void> {
    const beats = await kernel.ping();
    const answers = beats && (await kernel.answersControl(this._times.intervalMs));
    const heard = this._heard.get(rank);
    if (!heard) {
      return; // no longer watched: stopped, or its cell ended meanwhile
    }
    const now = Date.now();
    if (beats) {
      heard.heartbeat = now;
    }
    if (answers) {
      heard.control = now;
    }
    const health: RankHealth =
      now - heard.heartbeat >= this._times.unresponsiveMs
        ? 'unresponsive'
        : now - heard.control >= this._times.blockedMs
          ? 'blocked'
          : null;
    if (health !== heard.health) {
      heard.health = health;
      this._report(rank, health);
    }
  }
}

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
  private timer: NodeJS.Timeout | null = null;
  /** Ranks busy at the last tick, since when they were heard. */
  private heard = new Map<number, Heard>();
  private asking = new Set<number>();

  constructor(
    private readonly ranks: () => ReadonlyMap<number, Kernel>,
    private readonly report: (rank: number, health: RankHealth) => void,
    private readonly times: RankWatchTimes = DEFAULT_WATCH_TIMES
  ) {}

  /** Watch the busy ranks until stop(); a rank is watched from when it is first seen busy. */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.times.intervalMs);
    this.timer.unref();
  }

  /** Stop asking; ranks reported unwell are reported well again (their cell has ended). */
  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    for (const rank of [...this.heard.keys()]) {
      this.forget(rank);
    }
  }

  private tick(): void {
    const busy = this.ranks();
    for (const rank of [...this.heard.keys()]) {
      if (!busy.has(rank)) {
        this.forget(rank); // its cell ended: it answered
      }
    }
    const now = Date.now();
    for (const [rank, kernel] of busy) {
      if (!this.heard.has(rank)) {
        this.heard.set(rank, { heartbeat: now, control: now, health: null });
      }
      if (!this.asking.has(rank) && kernel.isAlive) {
        this.asking.add(rank);
        void this.ask(rank, kernel).finally(() => this.asking.delete(rank));
      }
    }
  }

  private forget(rank: number): void {
    const heard = this.heard.get(rank);
    this.heard.delete(rank);
    if (heard?.health) {
      this.report(rank, null);
    }
  }

  private async ask(rank: number, kernel: Kernel): Promise<void> {
    const beats = await kernel.ping();
    const answers = beats && (await kernel.answersControl(this.times.intervalMs));
    const heard = this.heard.get(rank);
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
      now - heard.heartbeat >= this.times.unresponsiveMs
        ? 'unresponsive'
        : now - heard.control >= this.times.blockedMs
          ? 'blocked'
          : null;
    if (health !== heard.health) {
      heard.health = health;
      this.report(rank, health);
    }
  }
}

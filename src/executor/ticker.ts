/** How often time-dependent notices (seconds since…) are brought up to date. */
export const TICK_MS = 1000;

/**
 * Calls its subscribers every TICK_MS, on one interval timer that runs only while some
 * subscriber wants ticks.
 */
export class Ticker {
  private readonly subscribers = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;

  /** Whether the timer runs. */
  get isRunning(): boolean {
    return this.timer !== undefined;
  }

  /** Start (`wanted`) or stop calling `subscriber`. */
  set(subscriber: () => void, wanted: boolean): void {
    if (wanted) {
      this.subscribers.add(subscriber);
      this.timer ??= setInterval(() => this.subscribers.forEach(s => s()), TICK_MS);
    } else {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }
  }
}

/** How often time-dependent notices (seconds since…) are brought up to date. */
export const TICK_MS = 1000;

/**
 * Calls its subscribers every TICK_MS, on one interval timer that runs only while some
 * subscriber wants ticks.
 */
export class Ticker {
  private readonly _subscribers = new Set<() => void>();
  private _timer: ReturnType<typeof setInterval> | undefined;

  /** Whether the timer runs. */
  get isRunning(): boolean {
    return this._timer !== undefined;
  }

  /** Start (`wanted`) or stop calling `subscriber`. */
  set(subscriber: () => void, wanted: boolean): void {
    if (wanted) {
      this._subscribers.add(subscriber);
      this._timer ??= setInterval(() => this._subscribers.forEach(s => s()), TICK_MS);
    } else {
      this._subscribers.delete(subscriber);
      if (this._subscribers.size === 0) {
        clearInterval(this._timer);
        this._timer = undefined;
      }
    }
  }
}

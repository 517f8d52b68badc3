import { TICK_MS, Ticker } from '../ticker';

describe('Ticker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs one timer, about once a second, only while someone wants ticks', () => {
    const ticker = new Ticker();
    const a = jest.fn();
    const b = jest.fn();
    expect(jest.getTimerCount()).toBe(0);
    ticker.set(a, true);
    ticker.set(b, true);
    ticker.set(a, true);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(3 * TICK_MS);
    expect(a).toHaveBeenCalledTimes(3);
    expect(b).toHaveBeenCalledTimes(3);

    ticker.set(a, false);
    jest.advanceTimersByTime(TICK_MS);
    expect(a).toHaveBeenCalledTimes(3);
    expect(b).toHaveBeenCalledTimes(4);
    expect(ticker.isRunning).toBe(true);

    ticker.set(b, false);
    expect(ticker.isRunning).toBe(false);
    expect(jest.getTimerCount()).toBe(0);
    ticker.set(b, false);
    expect(jest.getTimerCount()).toBe(0);
  });
});

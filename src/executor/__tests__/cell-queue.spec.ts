import { PromiseDelegate } from '@lumino/coreutils';

import { CellQueue } from '../cell-queue';

/** A cell whose run the test ends when it likes, recording what happened to it. */
class FakeCell {
  isDisposed = false;
  started = false;
  skipped = false;
  readonly result = new PromiseDelegate<boolean>();

  constructor(
    readonly name: string,
    private readonly _log: string[]
  ) {}

  queueIn(queue: CellQueue<object>, notebook: object): Promise<boolean> {
    return queue.add(notebook, {
      cell: this,
      run: () => {
        this.started = true;
        this._log.push(`start ${this.name}`);
        return this.result.promise;
      },
      skipped: () => {
        this.skipped = true;
        this._log.push(`skip ${this.name}`);
      }
    });
  }
}

/** Let every settled promise's callbacks run. */
const flush = () => new Promise<void>(resolve => setTimeout(resolve, 0));

describe('CellQueue', () => {
  let queue: CellQueue<object>;
  let log: string[];
  const cells = (...names: string[]) => names.map(name => new FakeCell(name, log));

  beforeEach(() => {
    queue = new CellQueue();
    log = [];
  });

  it('runs a notebook’s cells one at a time, in the order they were queued', async () => {
    const notebook = {};
    const [a, b, c] = cells('a', 'b', 'c');
    const done = [a, b, c].map(cell => cell.queueIn(queue, notebook));
    await flush();
    expect(log).toEqual(['start a']);

    a.result.resolve(true);
    await flush();
    expect(log).toEqual(['start a', 'start b']);

    b.result.resolve(true);
    c.result.resolve(true);
    expect(await Promise.all(done)).toEqual([true, true, true]);
    expect(log).toEqual(['start a', 'start b', 'start c']);
  });

  it('keeps notebooks apart: one notebook’s running cell does not hold up another’s', async () => {
    const [a, b] = cells('a', 'b');
    const first = a.queueIn(queue, {});
    const second = b.queueIn(queue, {});
    await flush();
    expect(log).toEqual(['start a', 'start b']);
    a.result.resolve(true);
    b.result.resolve(false);
    expect([await first, await second]).toEqual([true, false]);
  });

  it('skips the cells queued behind a failed cell, and runs those queued after the failure', async () => {
    const notebook = {};
    const [a, b, c, d] = cells('a', 'b', 'c', 'd');
    const queued = [a, b, c].map(cell => cell.queueIn(queue, notebook));
    a.result.resolve(false);
    expect(await Promise.all(queued)).toEqual([false, false, false]);
    expect([b.started, c.started, b.skipped, c.skipped]).toEqual([false, false, true, true]);

    const later = d.queueIn(queue, notebook);
    d.result.resolve(true);
    expect(await later).toBe(true);
    expect(log).toEqual(['start a', 'skip b', 'skip c', 'start d']);
  });

  it('does not let a failure in one notebook skip another notebook’s cells', async () => {
    const [a, b, c] = cells('a', 'b', 'c');
    const one = {};
    const other = {};
    const failing = a.queueIn(queue, one);
    const behind = b.queueIn(queue, one);
    const elsewhere = c.queueIn(queue, other);
    a.result.resolve(false);
    c.result.resolve(true);
    expect([await failing, await behind, await elsewhere]).toEqual([false, false, true]);
    expect(b.skipped).toBe(true);
  });

  it('skips a cell disposed before its turn, without skipping the cells after it', async () => {
    const notebook = {};
    const [a, b, c] = cells('a', 'b', 'c');
    const queued = [a, b, c].map(cell => cell.queueIn(queue, notebook));
    b.isDisposed = true;
    a.result.resolve(true);
    c.result.resolve(true);
    expect(await Promise.all(queued)).toEqual([true, false, true]);
    expect(log).toEqual(['start a', 'skip b', 'start c']);
  });

  it('counts a run that throws as a failure, rejects its promise, and keeps the queue going', async () => {
    const notebook = {};
    const [a, b, c] = cells('a', 'b', 'c');
    const thrown = a.queueIn(queue, notebook);
    const behind = b.queueIn(queue, notebook);
    a.result.reject(new Error('boom'));
    await expect(thrown).rejects.toThrow('boom');
    expect(await behind).toBe(false);
    expect(b.skipped).toBe(true);

    const later = c.queueIn(queue, notebook);
    c.result.resolve(true);
    expect(await later).toBe(true);
  });
});

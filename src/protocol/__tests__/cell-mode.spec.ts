import { cellMode, explicitMode, isAutoDdp, ranksCount, withRanksCount } from '../cell-mode';

describe('cell mode', () => {
  it('takes an explicit mark first', () => {
    expect(cellMode({ ddp: { mode: 'ddp' } }, {})).toBe('ddp');
    expect(cellMode({ ddp: { mode: 'everywhere' } }, {})).toBe('everywhere');
    expect(cellMode({ ddp: { mode: 'local' } }, { ddp: { auto: true } })).toBe('local');
  });

  it('sends unmarked cells to the ranks only under auto-DDP', () => {
    expect(cellMode({}, {})).toBe('local');
    expect(cellMode({}, { ddp: { auto: true } })).toBe('ddp');
    expect(cellMode(undefined, { ddp: { auto: 'yes' } })).toBe('local');
  });

  it('ignores invalid marks', () => {
    expect(explicitMode({ ddp: { mode: 'gpu' } })).toBeNull();
    expect(explicitMode({ ddp: 'ddp' })).toBeNull();
    expect(isAutoDdp(null)).toBe(false);
  });
});

describe("the ranks' execution count", () => {
  it("is read only while it matches the cell's count", () => {
    expect(ranksCount({ ddp: { ranksCount: 3 } }, 3)).toBe(3);
    expect(ranksCount({ ddp: { ranksCount: 3 } }, 4)).toBeNull();
    expect(ranksCount({ ddp: { ranksCount: '3' } }, 3)).toBeNull();
    expect(ranksCount(undefined, null)).toBeNull();
  });

  it('is set and cleared without touching the rest of the ddp metadata', () => {
    expect(withRanksCount({ mode: 'ddp' }, 2)).toEqual({ mode: 'ddp', ranksCount: 2 });
    expect(withRanksCount({ mode: 'ddp', ranksCount: 2 }, null)).toEqual({ mode: 'ddp' });
    expect(withRanksCount({ ranksCount: 2 }, null)).toBeUndefined();
    expect(withRanksCount(undefined, 5)).toEqual({ ranksCount: 5 });
  });
});

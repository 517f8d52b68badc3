import { readCellDdp, readNotebookDdp, withAutodip } from '../cell-metadata';

describe("a cell's ddp metadata", () => {
  it('reads mode, show and ranksCount', () => {
    expect(readCellDdp({ ddp: { mode: 'everywhere', show: [0, 2], ranksCount: 4 } })).toEqual({
      value: { mode: 'everywhere', show: [0, 2], ranksCount: 4 },
      problems: {}
    });
    expect(readCellDdp({ ddp: { show: 'all' } }).value.show).toBe('all');
    expect(readCellDdp({ ddp: { show: [] } }).value.show).toEqual([]);
  });

  it('reads nothing from absent or null metadata, as no choice', () => {
    const none = { value: { mode: null, show: null, ranksCount: null }, problems: {} };
    expect(readCellDdp(undefined)).toEqual(none);
    expect(readCellDdp({})).toEqual(none);
    expect(readCellDdp({ ddp: null })).toEqual(none);
    expect(readCellDdp({ ddp: { mode: null, show: null } })).toEqual(none);
  });

  it('names the key and the value of each bad entry, and reads it as absent', () => {
    expect(readCellDdp({ ddp: { mode: 'gpu', show: 'rank1' } })).toEqual({
      value: { mode: null, show: null, ranksCount: null },
      problems: {
        mode: 'cell metadata ddp.mode must be one of "local", "ddp", "everywhere", not "gpu"',
        show: 'cell metadata ddp.show must be "all", "rank0" or a list of ranks such as [0, 2], not "rank1"'
      }
    });
    expect(readCellDdp({ ddp: { show: [0, -1] } }).problems).toEqual({
      show: 'cell metadata ddp.show must be "all", "rank0" or a list of ranks such as [0, 2], not [0,-1]'
    });
    expect(readCellDdp({ ddp: { show: [1.5] } }).problems.show).toBeDefined();
    expect(readCellDdp({ ddp: 'ddp' }).problems).toEqual({
      ddp: 'cell metadata ddp must be an object, not "ddp"'
    });
  });

  it("takes a ranksCount that is not a number as none: it is the runs' bookkeeping", () => {
    expect(readCellDdp({ ddp: { ranksCount: '3' } })).toEqual({
      value: { mode: null, show: null, ranksCount: null },
      problems: {}
    });
  });
});

describe("a notebook's ddp metadata", () => {
  it('reads auto and show', () => {
    expect(readNotebookDdp({ ddp: { auto: true, show: [] } })).toEqual({
      value: { auto: true, show: [] },
      problems: {}
    });
    expect(readNotebookDdp(null)).toEqual({ value: { auto: false, show: null }, problems: {} });
  });

  it('names a bad auto or show', () => {
    expect(readNotebookDdp({ ddp: { auto: 'yes', show: { ranks: 1 } } })).toEqual({
      value: { auto: false, show: null },
      problems: {
        auto: 'notebook metadata ddp.auto must be true or false, not "yes"',
        show: 'notebook metadata ddp.show must be "all", "rank0" or a list of ranks such as [0, 2], not {"ranks":1}'
      }
    });
  });
});

describe('%autodip in the notebook metadata', () => {
  it('sets auto and the view, keeping the other keys', () => {
    expect(withAutodip({ other: 1 }, true, 'all')).toEqual({ other: 1, auto: true, show: 'all' });
    expect(withAutodip(undefined, true, null)).toEqual({ auto: true });
  });

  it('drops an earlier view, and everything it set when off', () => {
    expect(withAutodip({ auto: true, show: [1] }, true, null)).toEqual({ auto: true });
    expect(withAutodip({ auto: true, show: [1], other: 1 }, false, 'all')).toEqual({ other: 1 });
    expect(withAutodip({ auto: true }, false, null)).toBeUndefined();
  });
});

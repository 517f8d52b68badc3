import { cellMode, explicitMode, isAutoDdp } from '../cell-mode';

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

import { planCell, rankViewOf, usageErrorOutput } from '../cell-plan';

const plan = (source: string, cell: unknown = {}, notebook: unknown = {}) =>
  planCell(source, cell, notebook, 'rank0');

describe('planning a cell', () => {
  it("runs an unmarked cell locally, or on the ranks under the notebook's Auto-DDP", () => {
    expect(plan('x = 1')).toEqual({
      mode: 'local',
      view: 'rank0',
      directives: [],
      code: 'x = 1',
      usesClient: false
    });
    expect(plan('x = 1', {}, { ddp: { auto: true } })).toMatchObject({ mode: 'ddp' });
    expect(plan('x = 1', { ddp: { mode: 'local' } }, { ddp: { auto: true } })).toMatchObject({
      mode: 'local'
    });
  });

  it('lets a %%dip line choose over the mark', () => {
    expect(plan('%%dip everywhere\nx = 1', { ddp: { mode: 'local' } })).toMatchObject({
      mode: 'everywhere',
      code: 'x = 1'
    });
  });

  it("shows %%dip's choice, else the cell's, else the notebook's, else the default", () => {
    const cell = { ddp: { mode: 'ddp', show: [1] } };
    const notebook = { ddp: { show: 'all' } };
    expect(plan('%%dip -q\nx', cell, notebook)).toMatchObject({ view: [] });
    expect(plan('%%dip --see 0,3\nx', cell, notebook)).toMatchObject({ view: [0, 3] });
    expect(plan('x', cell, notebook)).toMatchObject({ view: [1] });
    expect(plan('x', { ddp: { mode: 'ddp' } }, notebook)).toMatchObject({ view: 'all' });
    expect(planCell('x', { ddp: { mode: 'ddp' } }, {}, 'all')).toMatchObject({ view: 'all' });
  });

  it("counts the cell's own %autodip for the cell itself", () => {
    expect(plan('%autodip on --see all\nx = 1')).toMatchObject({
      mode: 'ddp',
      view: 'all',
      code: '\nx = 1',
      directives: [{ kind: 'autodip', on: true }]
    });
    expect(plan('%autodip off\nx', {}, { ddp: { auto: true, show: [2] } })).toMatchObject({
      mode: 'local',
      view: 'rank0'
    });
    expect(plan('%autodip on -q\nx')).toMatchObject({ view: [] });
  });

  it('refuses the cell, naming the bad value, for bad metadata of the cell or the notebook', () => {
    expect(plan('x', { ddp: { mode: 'ddp', show: 'everyone' } })).toEqual({
      error:
        'cell metadata ddp.show must be "all", "rank0" or a list of ranks such as [0, 2], not "everyone"'
    });
    expect(plan('x', { ddp: { mode: 'gpu' } }, { ddp: { auto: 1 } })).toEqual({
      error:
        'cell metadata ddp.mode must be one of "local", "ddp", "everywhere", not "gpu"; ' +
        'notebook metadata ddp.auto must be true or false, not 1'
    });
    expect(plan('x', {}, { ddp: 'on' })).toEqual({
      error: 'notebook metadata ddp must be an object, not "on"'
    });
  });

  it('passes over a bad value the cell does not read', () => {
    // A local cell shows no ranks' outputs; a marked cell does not read Auto-DDP.
    expect(plan('x', { ddp: { show: 'everyone' } })).toMatchObject({ mode: 'local' });
    expect(plan('x', { ddp: { mode: 'ddp' } }, { ddp: { auto: 'yes' } })).toMatchObject({
      mode: 'ddp'
    });
    expect(plan('%%dip\nx', {}, { ddp: { auto: 'yes' } })).toMatchObject({
      mode: 'ddp',
      view: 'rank0'
    });
    // The cell's own view wins over the notebook's.
    expect(
      plan('x', { ddp: { mode: 'ddp', show: 'all' } }, { ddp: { show: 'some' } })
    ).toMatchObject({ view: 'all' });
  });

  it("takes the notebook's metadata as the cell's %autodip leaves it", () => {
    expect(plan('%autodip on\nx', {}, { ddp: { show: 'some' } })).toMatchObject({ mode: 'ddp' });
  });

  it('refuses bad magics before looking at the metadata', () => {
    expect(plan('%dipull --bogus x', { ddp: { show: 'everyone' } })).toEqual({
      error: expect.stringContaining('%dipull: unknown flag --bogus')
    });
  });

  it('says when the code calls the notebook kernel client', () => {
    expect(plan('%dipush x')).toMatchObject({ usesClient: true });
  });
});

describe('the view of a cell found again after a reload', () => {
  it("is the cell's, the notebook's or the default, passing over bad values", () => {
    expect(rankViewOf({ ddp: { show: [2] } }, { ddp: { show: 'all' } }, 'rank0')).toEqual([2]);
    expect(rankViewOf({ ddp: { show: 'x' } }, { ddp: { show: 'all' } }, 'rank0')).toBe('all');
    expect(rankViewOf({}, {}, 'all')).toBe('all');
  });
});

describe('a usage error', () => {
  it('is shown as IPython shows one', () => {
    expect(usageErrorOutput('%dipull: give at least one NAME')).toEqual({
      output_type: 'error',
      ename: 'UsageError',
      evalue: '%dipull: give at least one NAME',
      traceback: ['\u001b[0;31mUsageError\u001b[0m: %dipull: give at least one NAME']
    });
  });
});

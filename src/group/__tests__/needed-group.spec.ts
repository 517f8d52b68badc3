import { CellSource, neededGroup } from '../needed-group';

const code = (source: string, ddp?: unknown): CellSource => ({
  type: 'code',
  source,
  metadata: ddp === undefined ? {} : { ddp }
});
const markdown = (source: string): CellSource => ({ type: 'markdown', source, metadata: {} });

describe('the group a notebook will start', () => {
  it('is none for a notebook whose cells all run locally', () => {
    expect(neededGroup({}, [])).toBeNull();
    expect(neededGroup({}, [code('x = 1'), code('y = 2', { mode: 'local' })])).toBeNull();
    expect(
      neededGroup({ kernelspec: { name: 'python3' } }, [code('%%dip local\nx = 1')])
    ).toBeNull();
    expect(neededGroup({}, [code('#dip_locally\nx = 1'), code('%makedip -i')])).toBeNull();
    expect(neededGroup({}, [code('%makedip -k')])).toBeNull();
  });

  it('is the settings’ group for a cell marked DDP or everywhere', () => {
    expect(neededGroup({}, [code('x = 1'), code('y = 2', { mode: 'ddp' })])).toEqual({});
    expect(neededGroup({}, [code('y = 2', { mode: 'everywhere' })])).toEqual({});
  });

  it('is the settings’ group for a notebook with Auto-DDP on, even with no cell yet', () => {
    expect(neededGroup({ ddp: { auto: true } }, [])).toEqual({});
    expect(neededGroup({ ddp: { auto: true } }, [code('x = 1')])).toEqual({});
  });

  it('reads Ddip’s magics: %%dip, %autodip on, %dipush and %dipull', () => {
    expect(neededGroup({}, [code('%%dip\nx = 1')])).toEqual({});
    expect(neededGroup({}, [code('%%dip everywhere --see all\nx = 1')])).toEqual({});
    expect(neededGroup({}, [code('%autodip on')])).toEqual({});
    expect(neededGroup({}, [code('%dipush x')])).toEqual({});
    expect(neededGroup({}, [code('%autodip off')])).toBeNull();
  });

  it('takes the shape of the %makedip line that starts the group', () => {
    expect(neededGroup({}, [code('%makedip -c 4')])).toEqual({
      cpuRanks: 4,
      ranks: undefined,
      gpus: undefined
    });
    expect(neededGroup({}, [markdown('%makedip -c 8'), code('%makedip -g 0,2 -r')])).toEqual({
      gpus: [0, 2]
    });
    expect(neededGroup({}, [code('%load_ext Ddip\n%makedip')])).toEqual({});
    // the first cell that needs the ranks starts them: a later %makedip keeps that group
    expect(neededGroup({}, [code('x = 1', { mode: 'ddp' }), code('%makedip -c 4')])).toEqual({});
  });

  it('passes over markdown and cells that would be refused', () => {
    expect(neededGroup({}, [markdown('%%dip\nx = 1')])).toBeNull();
    expect(neededGroup({}, [code('%%dip --bogus\nx = 1')])).toBeNull();
    expect(neededGroup({}, [code('x = 1', { mode: 'sideways' })])).toBeNull();
    expect(
      neededGroup({}, [code('%makedip -c 0'), code('%%dip\nx = 1'), code('%makedip -c 2')])
    ).toEqual({});
  });
});

import type { GroupInfo, GroupState } from '../api';
import { DirectiveHost, GroupShape, performDirectives } from '../directives';
import { Directive, isMagicError, parseCell } from '../magics';
import { plainTexts } from '../texts';

/** A group and a notebook in memory, as the UI and the runner lend theirs: what was asked, in order. */
class MemoryHost implements DirectiveHost {
  readonly calls: string[] = [];
  ddp: Record<string, unknown> | undefined;
  private _info: GroupInfo;

  constructor(state: GroupState = 'stopped', worldSize = 0, ddp?: Record<string, unknown>) {
    this._info = this._shaped(state, worldSize);
    this.ddp = ddp;
  }

  async group(): Promise<GroupInfo> {
    return this._info;
  }

  async start(shape: GroupShape): Promise<GroupInfo> {
    this.calls.push(`start ${JSON.stringify(shape)}`);
    if (this._info.state !== 'stopped') {
      throw new Error(`group "default" is already ${this._info.state}; stop or restart it first`);
    }
    const size = shape.gpus === undefined || shape.gpus === 'all' ? (shape.cpuRanks ?? 2) : 9;
    this._info = this._shaped('ready', size);
    return this._info;
  }

  async restart(): Promise<GroupInfo> {
    this.calls.push('restart');
    this._info = this._shaped('ready', this._info.worldSize);
    return this._info;
  }

  async stop(): Promise<GroupInfo> {
    this.calls.push('stop');
    this._info = this._shaped('stopped', 0);
    return this._info;
  }

  notebookDdp(): unknown {
    return this.ddp;
  }

  setNotebookDdp(ddp: Record<string, unknown> | undefined): void {
    this.ddp = ddp;
  }

  private _shaped(state: GroupState, worldSize: number): GroupInfo {
    const running = state !== 'stopped' && state !== 'failed';
    return {
      name: 'default',
      state,
      worldSize: running ? worldSize : 0,
      device: running ? 'cpu' : null,
      kernelName: 'python3',
      backend: running ? 'gloo' : null,
      ranks: running
        ? Array.from({ length: worldSize }, (_, rank) => ({
            rank,
            pid: 100 + rank,
            cudaVisibleDevices: null,
            alive: true
          }))
        : [],
      notices: [],
      ...(state === 'failed' ? { error: 'rank 1 exited (SIGKILL)' } : {})
    };
  }
}

function directives(source: string): Directive[] {
  const parsed = parseCell(source);
  if (isMagicError(parsed)) {
    throw new Error(parsed.error);
  }
  return parsed.directives;
}

const perform = (source: string, host: DirectiveHost) =>
  performDirectives(directives(source), host, plainTexts);

describe('%makedip, as the UI and jupyter-ddp run perform it', () => {
  it('starts a stopped group with the defaults and says what runs', async () => {
    const host = new MemoryHost();
    expect(await perform('%makedip', host)).toEqual([
      'DDP: 2 x CPU ready (gloo): rank 0 pid 100, rank 1 pid 101'
    ]);
    expect(host.calls).toEqual(['start {}']);
  });

  it('asks -c N for N CPU ranks, which nothing else counts over; -g for those GPUs', async () => {
    const cpus = new MemoryHost();
    expect(await perform('%makedip -c 3', cpus)).toEqual([
      'DDP: 3 x CPU ready (gloo): rank 0 pid 100, rank 1 pid 101, rank 2 pid 102'
    ]);
    const gpus = new MemoryHost();
    await perform('%makedip -g 0,2', gpus);
    // JSON leaves the undefined out; the runner's request spreads them over --ranks and --gpus.
    expect(cpus.calls).toEqual(['start {"cpuRanks":3}']);
    expect(gpus.calls).toEqual(['start {"gpus":[0,2]}']);
  });

  it('keeps a running group, as Ddip does', async () => {
    const host = new MemoryHost('busy', 4);
    expect(await perform('%makedip -c 2', host)).toEqual([
      'DDP: 4 x CPU busy (gloo): rank 0 pid 100, rank 1 pid 101, rank 2 pid 102, rank 3 pid 103'
    ]);
    expect(host.calls).toEqual([]);
  });

  it('restarts a running group with -r, in a new shape when -g or -c gives one', async () => {
    const same = new MemoryHost('ready', 4);
    await perform('%makedip -r', same);
    expect(same.calls).toEqual(['restart']);
    const reshaped = new MemoryHost('ready', 4);
    expect(await perform('%makedip -r -c 2', reshaped)).toEqual([
      'DDP: 2 x CPU ready (gloo): rank 0 pid 100, rank 1 pid 101'
    ]);
    expect(reshaped.calls).toEqual(['stop', 'start {"cpuRanks":2}']);
    const stopped = new MemoryHost();
    await perform('%makedip -r -g all', stopped);
    expect(stopped.calls).toEqual(['start {"gpus":"all"}']);
  });

  it('stops a failed group before starting one', async () => {
    const host = new MemoryHost('failed');
    await perform('%makedip', host);
    expect(host.calls).toEqual(['stop', 'start {}']);
    const restarted = new MemoryHost('failed');
    await perform('%makedip -r', restarted);
    expect(restarted.calls).toEqual(['stop', 'start {}']);
  });

  it('stops the group with -k and shows it with -i, changing nothing else', async () => {
    const host = new MemoryHost('ready', 2);
    expect(await perform('%makedip -i', host)).toEqual([
      'DDP: 2 x CPU ready (gloo): rank 0 pid 100, rank 1 pid 101'
    ]);
    expect(host.calls).toEqual([]);
    expect(await perform('%makedip -k', host)).toEqual(['DDP: stopped']);
    expect(host.calls).toEqual(['stop']);
    const failed = new MemoryHost('failed');
    expect(await perform('%makedip -i', failed)).toEqual(['DDP: failed — rank 1 exited (SIGKILL)']);
  });

  it('passes on what the group says when it cannot do what was asked', async () => {
    const host = new MemoryHost('starting', 2);
    await expect(perform('%makedip', host)).rejects.toThrow(
      'group "default" is already starting; stop or restart it first'
    );
  });
});

describe('%autodip, as the UI and jupyter-ddp run perform it', () => {
  it("writes Auto-DDP and the view into the notebook's metadata, and says so", async () => {
    const host = new MemoryHost('stopped', 0, { other: 1 });
    expect(await perform('%autodip on --see 1,2', host)).toEqual([
      'Auto-DDP is on: unmarked cells run on the ranks.'
    ]);
    expect(host.ddp).toEqual({ other: 1, auto: true, show: [1, 2] });
    expect(await perform('%autodip off', host)).toEqual([
      'Auto-DDP is off: unmarked cells run in the notebook kernel.'
    ]);
    expect(host.ddp).toEqual({ other: 1 });
    await perform('%autodip on -q', host);
    expect(host.ddp).toEqual({ other: 1, auto: true, show: [] });
  });

  it('performs the lines of a cell in order', async () => {
    const host = new MemoryHost('ready', 2);
    expect(await perform('%makedip -k\nx = 1\n%autodip on\n%makedip -c 3', host)).toEqual([
      'DDP: stopped',
      'Auto-DDP is on: unmarked cells run on the ranks.',
      'DDP: 3 x CPU ready (gloo): rank 0 pid 100, rank 1 pid 101, rank 2 pid 102'
    ]);
    expect(host.calls).toEqual(['stop', 'start {"cpuRanks":3}']);
    expect(host.ddp).toEqual({ auto: true });
  });
});

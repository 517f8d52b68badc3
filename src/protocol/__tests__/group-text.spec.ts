import { nullTranslator } from '@jupyterlab/translation';

import type { GroupInfo, GroupSummary } from '../api';
import { groupLine, statusText, statusTitle } from '../group-text';

const trans = nullTranslator.load('jupyterlab_ddp');

describe('status-bar text', () => {
  it('says when no jupyter-ddp server answers, and what to do', () => {
    expect(statusText(null, trans)).toBe('DDP: no server');
    expect(statusTitle(null, trans)).toMatch(/jupyter-ddp lab/);
  });

  it('names the state and shape of the group', () => {
    expect(statusText({ state: 'stopped', worldSize: 0, device: null }, trans)).toBe(
      'DDP: stopped'
    );
    expect(statusText({ state: 'ready', worldSize: 4, device: 'gpu' }, trans)).toBe(
      'DDP: 4 x GPU ready'
    );
    expect(statusText({ state: 'busy', worldSize: 2, device: 'cpu' }, trans)).toBe(
      'DDP: 2 x CPU busy'
    );
    expect(statusText({ state: 'starting', worldSize: 2, device: 'cpu' }, trans)).toBe(
      'DDP: 2 x CPU starting'
    );
  });

  it('carries the reason of a failure', () => {
    const failed = {
      state: 'failed',
      worldSize: 4,
      device: 'gpu',
      error: 'rank 2 exited (SIGKILL)'
    } as const;
    expect(statusText(failed, trans)).toBe('DDP: failed — rank 2 exited (SIGKILL)');
  });

  it('names the ranks with problems, and the server’s advice in the hover text', () => {
    const group: GroupSummary = {
      state: 'busy',
      worldSize: 4,
      device: 'cpu',
      problems: [
        { rank: 2, kind: 'unresponsive', since: 1, message: 'rank 2 stopped answering: …' },
        { rank: 3, kind: 'unresponsive', since: 1, message: 'rank 3 stopped answering: …' },
        { rank: 1, kind: 'interrupt-ignored', since: 2, message: 'restart the group' }
      ]
    };
    expect(statusText({ ...group, problems: [group.problems![0]] }, trans)).toBe(
      'DDP: 4 x CPU busy — rank 2 not responding'
    );
    expect(statusText(group, trans)).toBe(
      'DDP: 4 x CPU busy — ranks 2, 3 not responding; rank 1 ignored the interrupt'
    );
    expect(statusTitle(group, trans)).toContain('rank 2 stopped answering: …\nrank 3');
    expect(statusText({ ...group, problems: [] }, trans)).toBe('DDP: 4 x CPU busy');
  });

  it('says the group a %makedip leaves: its state, backend and each rank', () => {
    const info: GroupInfo = {
      name: 'default',
      state: 'ready',
      worldSize: 2,
      device: 'cpu',
      kernelName: 'python3',
      backend: 'gloo',
      ranks: [
        { rank: 0, pid: 41, cudaVisibleDevices: null, alive: true },
        { rank: 1, pid: null, cudaVisibleDevices: null, alive: true }
      ],
      notices: []
    };
    expect(groupLine(info, trans)).toBe('DDP: 2 x CPU ready (gloo): rank 0 pid 41, rank 1 pid ?');
    expect(groupLine({ ...info, state: 'stopped', backend: null, ranks: [] }, trans)).toBe(
      'DDP: stopped'
    );
  });
});

import { nullTranslator } from '@jupyterlab/translation';

import { statusText, statusTitle } from '../text';

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
});

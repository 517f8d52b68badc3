import { nullTranslator } from '@jupyterlab/translation';

import { describeStart, indexRanges } from '../describe';

const trans = nullTranslator.load('jupyterlab_ddp');

describe('what a start will start', () => {
  it('writes GPU indices as ranges', () => {
    expect(indexRanges([0, 1, 2, 3])).toBe('0–3');
    expect(indexRanges([2, 0])).toBe('0, 2');
    expect(indexRanges([0, 1, 2, 5, 6])).toBe('0–2, 5, 6');
    expect(indexRanges([4])).toBe('4');
  });

  it('says ranks and GPUs once the tab has seen what the groups run on', () => {
    expect(describeStart({ gpus: [0, 1, 2, 3], cpuRanks: 2 }, 'gpu', trans)).toBe(
      '4 ranks on GPUs 0–3'
    );
    expect(describeStart({ gpus: [1], cpuRanks: 2 }, 'gpu', trans)).toBe('1 rank on GPU 1');
    expect(describeStart({ gpus: 'all', cpuRanks: 2 }, 'gpu', trans)).toBe('a rank on every GPU');
    expect(describeStart({ gpus: 'all', cpuRanks: 2 }, 'cpu', trans)).toBe('2 CPU ranks');
    expect(describeStart({ gpus: [0, 1], cpuRanks: 1 }, 'cpu', trans)).toBe('1 CPU rank');
  });

  it('says both before any group ran, as the server decides by the GPUs it finds', () => {
    expect(describeStart({ gpus: 'all', cpuRanks: 4 }, null, trans)).toBe(
      'a rank on every GPU (4 CPU ranks where there is no GPU)'
    );
  });
});

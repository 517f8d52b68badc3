import { nullTranslator } from '@jupyterlab/translation';

import { GroupControls, parseGpus } from '../controls';

const trans = nullTranslator.load('jupyterlab_ddp');

function controls(gpus: string): GroupControls {
  return new GroupControls(
    { state: 'stopped', worldSize: 0, device: null },
    [],
    { gpus, cpuRanks: 2 },
    trans
  );
}

function typeGpus(form: GroupControls, text: string): void {
  const input = form.node.querySelector<HTMLInputElement>('input[name="gpus"]')!;
  input.value = text;
  input.dispatchEvent(new Event('input'));
}

describe('the group dialog', () => {
  it('asks for the GPUs and CPU ranks it shows', () => {
    expect(controls('0,2').request()).toEqual({ gpus: [0, 2], cpuRanks: 2 });
    expect(controls('').request()).toEqual({ gpus: 'all', cpuRanks: 2 });
  });

  it('refuses a bad GPU list, naming the bad entry, instead of asking for NaNs', () => {
    const form = controls('all');
    typeGpus(form, 'a,b');
    expect(() => form.request()).toThrow("Invalid GPU list 'a,b': 'a' is not a GPU index");
    expect(form.node.querySelector('.jp-ddp-GroupControls-problem')!.textContent).toBe(
      "Invalid GPU list 'a,b': 'a' is not a GPU index (expected 'all' or non-negative integers such as '0,2')"
    );
    typeGpus(form, '1, 3');
    expect(form.node.querySelector('.jp-ddp-GroupControls-problem')!.textContent).toBe('');
    expect(form.request().gpus).toEqual([1, 3]);
  });

  it('reads the GPU setting with the one parser, empty meaning every GPU', () => {
    expect(parseGpus(' ')).toBe('all');
    expect(parseGpus('ALL')).toBe('all');
    expect(() => parseGpus('0,0')).toThrow('GPU 0 is listed twice');
  });
});

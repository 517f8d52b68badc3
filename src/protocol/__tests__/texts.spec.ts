import { nullTranslator } from '@jupyterlab/translation';

import { plainTexts } from '../texts';

describe("the texts of Node, where JupyterLab's translation does not load", () => {
  const bundle = nullTranslator.load('jupyterlab_ddp');

  it("format as JupyterLab's untranslated bundle does", () => {
    const cases: [string, unknown[]][] = [
      ['DDP: %1 x %2 %3', [4, 'CPU', 'ready']],
      ['%1 — %2', ['a', 'b']],
      ['100%% of %1, %%1 stays', ['ranks']],
      ['no arguments', []]
    ];
    for (const [text, args] of cases) {
      expect(plainTexts.__(text, ...args)).toBe(bundle.__(text, ...args));
    }
    for (const n of [0, 1, 3]) {
      expect(plainTexts._n('rank %2', 'ranks %2', n, '0, 1')).toBe(
        bundle._n('rank %2', 'ranks %2', n, '0, 1')
      );
    }
  });
});

import { GpuListError, parseGpuList } from '../gpu-list';

/** The one GPU-list reader of `--gpus`, `%makedip -g` and the group dialog. */
describe('GPU lists', () => {
  it('parses GPU requests', () => {
    expect(parseGpuList('all')).toBe('all');
    expect(parseGpuList(' ALL ')).toBe('all');
    expect(parseGpuList('0,2')).toEqual([0, 2]);
    expect(parseGpuList(' 3 , 1 ')).toEqual([3, 1]);
    expect(parseGpuList('5')).toEqual([5]);
    expect(() => parseGpuList('')).toThrow(/Invalid GPU list '': expected 'all' or GPU indices/);
    expect(() => parseGpuList('  ')).toThrow(/Invalid GPU list/);
    expect(() => parseGpuList('abc')).toThrow(/'abc' is not a GPU index/);
    expect(() => parseGpuList('1,,2')).toThrow(/'' is not a GPU index/);
    expect(() => parseGpuList('-1')).toThrow(/'-1' is not a GPU index/);
    expect(() => parseGpuList('1.5')).toThrow(/'1.5' is not a GPU index/);
    expect(() => parseGpuList('0,1,0')).toThrow(/GPU 0 is listed twice/);
  });

  it('names the entry at fault, apart from the list, for callers that say it their way', () => {
    let thrown: unknown;
    try {
      parseGpuList('a,b');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GpuListError);
    expect(thrown).toMatchObject({
      text: 'a,b',
      problem: "'a' is not a GPU index (expected 'all' or non-negative integers such as '0,2')",
      message:
        "Invalid GPU list 'a,b': 'a' is not a GPU index (expected 'all' or non-negative integers such as '0,2')"
    });
  });
});

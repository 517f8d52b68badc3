import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { applyCudaVisibleDevices, chooseGpus, cudaVisibleDevices, Gpu, listGpus } from '../devices';
import { parseGpuList } from '../../../src/protocol/gpu-list';

const SMI_OUTPUT = [
  '0, GPU-aaaaaaaa-0000-1111-2222-333333333333, NVIDIA H100 80GB HBM3, 81559',
  '1, GPU-bbbbbbbb-0000-1111-2222-333333333333, NVIDIA H100 80GB HBM3, 81559',
  '2, GPU-cccccccc-0000-1111-2222-333333333333, NVIDIA H100 80GB HBM3, 81559',
  '3, GPU-dddddddd-0000-1111-2222-333333333333, NVIDIA H100 80GB HBM3, 81559'
].join('\n');

const FOUR: Gpu[] = ['a', 'b', 'c', 'd'].map((c, index) => ({
  index,
  uuid: `GPU-${c.repeat(8)}-0000-1111-2222-333333333333`,
  name: 'NVIDIA H100 80GB HBM3',
  memoryMiB: 81559
}));

/** GPU discovery through a fake `nvidia-smi` first on PATH; this machine may have none. */
describe('GPU devices', () => {
  const savedEnv = { ...process.env };
  let root: string;

  /** A fake nvidia-smi (a shell script body) in a fresh folder that becomes the whole PATH. */
  async function fakeSmi(script: string | null): Promise<void> {
    const bin = await fs.mkdtemp(path.join(root, 'bin-'));
    if (script !== null) {
      await fs.writeFile(path.join(bin, 'nvidia-smi'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    }
    // the script's own cat and sleep come from /usr/bin and /bin; with no fake, PATH is the empty
    // folder alone, so a real nvidia-smi in /usr/bin (a GPU machine) cannot answer
    process.env.PATH = script === null ? bin : [bin, '/usr/bin', '/bin'].join(path.delimiter);
  }

  async function fourGpus(): Promise<void> {
    await fs.writeFile(path.join(root, 'smi.txt'), SMI_OUTPUT + '\n');
    const query = '--query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits';
    await fakeSmi(`[ "$*" = "${query}" ] || exit 2\ncat '${path.join(root, 'smi.txt')}'`);
  }

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ddp-devices-'));
    delete process.env.CUDA_VISIBLE_DEVICES;
  });

  afterEach(async () => {
    for (const key of Object.keys(process.env)) {
      if (!(key in savedEnv)) {
        delete process.env[key];
      }
    }
    Object.assign(process.env, savedEnv);
    await fs.rm(root, { recursive: true, force: true });
  });

  it("parses nvidia-smi's GPU list", async () => {
    await fourGpus();
    expect(await listGpus()).toEqual(FOUR);
  });

  it('chooses every GPU for "all", one CUDA_VISIBLE_DEVICES per rank', async () => {
    await fourGpus();
    const gpus = chooseGpus(await listGpus(), parseGpuList('all'));
    expect(gpus.map(cudaVisibleDevices)).toEqual(['0', '1', '2', '3']);
    expect(chooseGpus(FOUR, 'all', 4)).toEqual(FOUR);
    expect(chooseGpus(FOUR, 'all', 2).map(cudaVisibleDevices)).toEqual(['0', '1']);
  });

  it('chooses the listed GPUs in the order given', async () => {
    await fourGpus();
    const available = await listGpus();
    expect(chooseGpus(available, parseGpuList('0,2')).map(cudaVisibleDevices)).toEqual(['0', '2']);
    expect(chooseGpus(available, [3, 1], 2).map(cudaVisibleDevices)).toEqual(['3', '1']);
  });

  it('refuses more ranks than GPUs, unknown GPUs and rank counts that do not match', () => {
    expect(() => chooseGpus(FOUR, 'all', 5)).toThrow(
      '5 ranks requested but only 4 GPUs (0, 1, 2, 3) are available'
    );
    expect(() => chooseGpus(FOUR.slice(0, 2), 'all', 4)).toThrow(
      '4 ranks requested but only 2 GPUs (0, 1) are available'
    );
    expect(() => chooseGpus(FOUR, [0, 7])).toThrow(
      'GPU 7 is not available; available GPUs: 0, 1, 2, 3'
    );
    expect(() => chooseGpus(FOUR, [0, 2], 3)).toThrow(
      /3 ranks requested but 2 GPUs \(0, 2\) listed/
    );
    expect(() => chooseGpus(FOUR, [1, 1])).toThrow(/GPU 1 is requested twice/);
    expect(() => chooseGpus(FOUR, [])).toThrow(/No GPUs requested/);
    expect(() => chooseGpus(FOUR, 'all', 0)).toThrow(/Invalid number of ranks: 0/);
    expect(() => chooseGpus([], 'all')).toThrow(/No GPUs are available/);
    expect(() => chooseGpus([], [0])).toThrow('GPU 0 is not available; no GPUs are available');
  });

  it("lists only the server's own CUDA_VISIBLE_DEVICES, in its order", async () => {
    await fourGpus();
    process.env.CUDA_VISIBLE_DEVICES = '2,3';
    const gpus = await listGpus();
    expect(gpus.map(g => g.index)).toEqual([2, 3]);
    expect(() => chooseGpus(gpus, 'all', 4)).toThrow(
      '4 ranks requested but only 2 GPUs (2, 3) are available'
    );
    expect(() => chooseGpus(gpus, [0])).toThrow('GPU 0 is not available; available GPUs: 2, 3');

    process.env.CUDA_VISIBLE_DEVICES = 'GPU-dddddddd-0000-1111-2222-333333333333,GPU-bbbb';
    expect((await listGpus()).map(g => g.index)).toEqual([3, 1]);
  });

  it('reads CUDA_VISIBLE_DEVICES the way CUDA does', () => {
    const idx = (v: string) => applyCudaVisibleDevices(FOUR, v).map(g => g.index);
    expect(idx('1,0')).toEqual([1, 0]);
    expect(idx(' 1 , 2 ')).toEqual([1, 2]);
    expect(idx('')).toEqual([]);
    expect(idx('-1')).toEqual([]);
    // enumeration stops at the first entry that names no GPU, or names one again
    expect(idx('0,9,1')).toEqual([0]);
    expect(idx('2,2,3')).toEqual([2]);
    expect(idx('GPU-c')).toEqual([2]);
    expect(idx('GPU-')).toEqual([]); // ambiguous prefix
  });

  it('returns no GPUs when nvidia-smi fails, hangs or is missing', async () => {
    await fakeSmi("echo 'NVIDIA-SMI has failed because it could not communicate' >&2\nexit 1");
    expect(await listGpus()).toEqual([]);

    await fakeSmi('echo "No devices were found"');
    expect(await listGpus()).toEqual([]);

    await fakeSmi('exec sleep 30');
    const start = Date.now();
    expect(await listGpus({ timeoutMs: 300 })).toEqual([]);
    expect(Date.now() - start).toBeLessThan(5000);

    await fakeSmi(null);
    expect(await listGpus()).toEqual([]);
  });
});

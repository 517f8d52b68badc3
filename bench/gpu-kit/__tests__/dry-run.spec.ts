import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const KIT = path.resolve(__dirname, '..');
const STEPS = ['machine', 'node', 'libzmq', 'python', 'group', 'cell', 'push-pull', 'gpu-train'];

/** What `cmd` printed and its exit code, whether or not it succeeded. */
async function capture(cmd: string, args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(cmd, args, {
      cwd,
      timeout: 900_000,
      maxBuffer: 64 * 1024 * 1024
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * The GPU check kit's dry run, as it would run on a bare machine: the bundle built by
 * bench/gpu-kit/build, copied to a fresh folder, and its `check --cpu` run with a Python like the
 * GPU machine's (torch, but no Jupyter package importable), on CPU ranks with gloo.
 */
describe('the GPU check kit', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-kit-test-'));
  });

  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('builds a bundle of at most 60 MiB whose check --cpu passes every step without Jupyter installed', async () => {
    const built = await capture(path.join(KIT, 'build'), [path.join(scratch, 'built')], scratch);
    expect(built.stderr + built.stdout).toMatch(/is \d+ bytes \(\d+ MiB; at most 60 MiB\)/);
    expect(built.code).toBe(0);

    const bundle = path.join(scratch, 'bundle');
    fs.cpSync(path.join(scratch, 'built'), bundle, { recursive: true });
    fs.rmSync(path.join(scratch, 'built'), { recursive: true });

    const made = await capture(
      path.join(KIT, 'machine-like-python'),
      [path.join(scratch, 'python')],
      scratch
    );
    expect(made.code).toBe(0);
    const python = made.stdout.trim();
    const jupyter = await capture(python, ['-c', 'import ipykernel'], scratch);
    expect(jupyter.stderr).toContain("No module named 'ipykernel'");

    const checked = await capture(
      path.join(bundle, 'check'),
      ['--cpu', '--python', python, '--work', path.join(scratch, 'work')],
      scratch
    );
    const lines = checked.stdout.split('\n');
    const failures = lines.filter(l => /^(FAIL|SKIP) /.test(l));
    expect(failures).toEqual([]);
    for (const step of STEPS) {
      expect(lines.some(l => new RegExp(`^PASS ${step} `).test(l))).toBe(true);
    }
    expect(checked.stdout).toContain(`RESULT: ${STEPS.length} of ${STEPS.length} steps passed`);
    expect(checked.stdout).toContain('ALL PASSED');
    expect(checked.code).toBe(0);
  }, 1_200_000);
});

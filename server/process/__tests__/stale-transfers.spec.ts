import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../../package-root';
import { removeStaleTransferFiles } from '../stale-transfers';

/** Python that writes a real transfer file (jupyter_ddp_values), prints its path, then sleeps. */
const WRITER = `import sys, time
sys.path.insert(0, ${JSON.stringify(path.join(PACKAGE_ROOT, 'server', 'py'))})
sys.dont_write_bytecode = True
import jupyter_ddp_values
print(jupyter_ddp_values.dump({"x": list(range(1000))}, "push"), flush=True)
time.sleep(600)
`;

/** A live Python that wrote a transfer file, and the file. */
async function writer(): Promise<{ kill: () => Promise<void>; file: string }> {
  const child = spawn('/usr/bin/python3', ['-c', WRITER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const file = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', chunk => resolve(String(chunk).trim()));
    child.once('exit', code => reject(new Error(`the writer exited (${code})`)));
  });
  const exited = new Promise(resolve => child.once('exit', resolve));
  return {
    file,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    }
  };
}

describe('stale transfer files', () => {
  const made: string[] = [];

  afterEach(() => {
    for (const file of made.splice(0)) {
      fs.rmSync(file, { recursive: true, force: true });
    }
  });

  it("removes this user's transfer files whose writer died, and keeps those of live writers", async () => {
    const dead = await writer();
    const live = await writer();
    made.push(dead.file, live.file);
    expect(path.basename(dead.file)).toMatch(/^jupyter-ddp-push-\d+-[0-9a-f]{16}$/);
    await dead.kill(); // killed mid-transfer: nobody deletes its file
    const deadPid = path.basename(dead.file).split('-')[3];
    // Not ours, or not a file: left alone even with a dead writer.
    const foreign = path.join(
      path.dirname(dead.file),
      `jupyter-ddp-push-${deadPid}-${'a'.repeat(16)}`
    );
    fs.writeFileSync(foreign, 'x');
    fs.chownSync(foreign, 65534, 65534);
    const folder = path.join(
      path.dirname(dead.file),
      `jupyter-ddp-pull-${deadPid}-${'b'.repeat(16)}`
    );
    fs.mkdirSync(folder);
    made.push(foreign, folder);

    expect(removeStaleTransferFiles()).toBeGreaterThanOrEqual(1);
    expect(fs.existsSync(dead.file)).toBe(false);
    expect(fs.existsSync(live.file)).toBe(true);
    expect(fs.existsSync(foreign)).toBe(true);
    expect(fs.existsSync(folder)).toBe(true);

    await live.kill();
    removeStaleTransferFiles();
    expect(fs.existsSync(live.file)).toBe(false);
  });
});

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Python interpreters to try, in order: an explicit choice, Debian's system Python, then PATH. */
export function pythonCandidates(): string[] {
  const explicit = process.env.JUPYTER_DDP_PYTHON;
  return explicit ? [explicit] : ['/usr/bin/python3', 'python3', 'python'];
}

/** The first candidate Python that can import every module named; null when none can. */
export async function findPython(modules: string[]): Promise<string | null> {
  for (const python of pythonCandidates()) {
    try {
      const check = modules.length > 0 ? `import ${modules.join(', ')}` : 'pass';
      // env passed explicitly so PATH and JUPYTER_DDP_PYTHON changes made at run time apply.
      await run(python, ['-c', check], { timeout: 30_000, env: process.env });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

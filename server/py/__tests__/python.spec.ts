import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../../package-root';

/**
 * The pytest suite of server/py (server/py/tests), run with Debian's python3 as the ranks are;
 * pytest's report shows when it fails.
 */
it('server/py passes its pytest suite', () => {
  const result = spawnSync(
    '/usr/bin/python3',
    ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join('server', 'py', 'tests')],
    {
      cwd: PACKAGE_ROOT,
      encoding: 'utf8',
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 110_000
    }
  );
  const report = `${result.stdout}${result.stderr}${result.error ? String(result.error) : ''}`;
  // On a failure, jest shows the received text: pytest's exit status and report.
  expect(result.status === 0 ? 'passed' : `pytest exited ${result.status}:\n${report}`).toBe(
    'passed'
  );
});

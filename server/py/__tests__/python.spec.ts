import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../../package-root';

/**
 * The pytest suites of server/py (server/py/tests) and of the jupyter_server extension
 * (jupyterlab_ddp/tests), run with Debian's python3 as the ranks and Jupyter are; pytest's report
 * shows when it fails.
 */
it('server/py and jupyterlab_ddp pass their pytest suites', () => {
  const result = spawnSync(
    '/usr/bin/python3',
    [
      '-m',
      'pytest',
      '-q',
      '-p',
      'no:cacheprovider',
      path.join('server', 'py', 'tests'),
      path.join('jupyterlab_ddp', 'tests')
    ],
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

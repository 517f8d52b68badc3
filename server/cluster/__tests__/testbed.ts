import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../../package-root';

/**
 * jest's global setup and teardown of the server tests: the one-machine Slurm cluster of
 * scripts/slurm-testbed.sh (slurmctld, and two slurmd each in a network namespace of its own),
 * whose SLURM_CONF the tests' workers inherit. It needs root, slurm-wlm and munge (setup.sh).
 */
const SCRIPT = path.join(PACKAGE_ROOT, 'scripts', 'slurm-testbed.sh');

export function startSlurmTestbed(): void {
  const out = execFileSync('bash', [SCRIPT, 'up'], { encoding: 'utf8' });
  const conf = /^SLURM_CONF=(.+)$/m.exec(out)?.[1];
  if (!conf) {
    throw new Error(`slurm-testbed.sh up said no SLURM_CONF:\n${out}`);
  }
  process.env.SLURM_CONF = conf;
}

export function stopSlurmTestbed(): void {
  execFileSync('bash', [SCRIPT, 'down'], { stdio: 'inherit' });
}

/** The testbed's nodes and their addresses (scripts/slurm-testbed.sh). */
export const TESTBED_NODES = [
  { name: 'ddpn1', address: '10.77.0.11' },
  { name: 'ddpn2', address: '10.77.0.12' }
];

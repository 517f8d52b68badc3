import { execFile } from 'node:child_process';

/** Slurm's client commands answer within this, or the controller is not answering. */
const COMMAND_TIMEOUT_MS = 30_000;

/** A Slurm command that failed: its name, and what it said. */
export class SlurmCommandError extends Error {}

/**
 * Run a Slurm client command (`squeue`, `scontrol`, `scancel`) with this server's environment
 * (SLURM_CONF and the user's Slurm settings); resolves with its stdout.
 */
export function slurm(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { encoding: 'utf8', timeout: COMMAND_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) {
          resolve(stdout);
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        reject(
          new SlurmCommandError(
            code === 'ENOENT'
              ? `${command} is not on this server's PATH: is Slurm's client installed here?`
              : `${command} ${args.join(' ')} failed: ${stderr.trim() || err.message}`
          )
        );
      }
    );
  });
}

/** The node names of a Slurm host list (`ddpn[1-2]` → ddpn1, ddpn2). */
export async function hostNames(list: string): Promise<string[]> {
  return (await slurm('scontrol', ['show', 'hostnames', list])).split('\n').filter(Boolean);
}

/** The address Slurm reaches a node at (its NodeAddr, else its name). */
export async function nodeAddress(node: string): Promise<string> {
  const line = await slurm('scontrol', ['-o', 'show', 'node', node]);
  return /(?:^|\s)NodeAddr=(\S+)/.exec(line)?.[1] ?? node;
}

/** A job's state and reason (`PENDING`, `Resources`), or null once Slurm has forgotten it. */
export async function jobState(jobId: string): Promise<{ state: string; reason: string } | null> {
  const out = (
    await slurm('squeue', ['-h', '-j', jobId, '-o', '%T|%r']).catch((err: Error) => {
      if (/Invalid job id/i.test(err.message)) {
        return ''; // ended and purged
      }
      throw err;
    })
  ).trim();
  if (!out) {
    return null;
  }
  const [state, reason] = out.split('|');
  return { state, reason: reason ?? '' };
}

import * as fs from 'node:fs';

import { GpuRequest } from '../group/devices';
import { runNotebook } from '../runner/run';

export interface RunCommandOptions {
  input: string;
  output?: string;
  inplace: boolean;
  gpus?: GpuRequest;
  ranks?: number;
  timeoutSeconds?: number;
}

/** `jupyter-ddp run`: returns the exit code (0 all cells ran, 1 a cell failed). */
export async function runCommand(options: RunCommandOptions): Promise<number> {
  if (options.inplace && options.output) {
    throw new Error('give either --output or --inplace, not both');
  }
  if (!fs.existsSync(options.input)) {
    throw new Error(`no such notebook: ${options.input}`);
  }
  const output = options.inplace
    ? options.input
    : (options.output ?? options.input.replace(/(\.ipynb)?$/, '.out.ipynb'));
  const log = (line: string) => process.stderr.write(`jupyter-ddp run: ${line}\n`);

  // Ctrl+C or a kill ends the run; runNotebook's cleanup then ends every process it started.
  let interrupted = false;
  const stop = () => {
    interrupted = true;
    log('stopping...');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const result = await runNotebook({
    input: options.input,
    output,
    group: { ranks: options.ranks, gpus: options.gpus },
    timeoutSeconds: options.timeoutSeconds,
    log
  });
  log(`wrote ${output}`);
  if (!result.ok) {
    log(`FAILED: ${result.failure}`);
    return 1;
  }
  return interrupted ? 130 : 0;
}

import * as fs from 'node:fs';
import * as os from 'node:os';

import type { GpuList } from '../../src/protocol/gpu-list';
import { runNotebook } from '../runner/run';

export interface RunCommandOptions {
  input: string;
  output?: string;
  inplace: boolean;
  gpus?: GpuList;
  ranks?: number;
  timeoutSeconds?: number;
}

/**
 * `jupyter-ddp run`: returns the exit code (0 all cells ran, 1 a cell failed, 130 Ctrl+C, 143
 * SIGTERM).
 */
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

  // Ctrl+C or a kill stops the running cell (interrupt, then end its kernel or group), writes the
  // notebook with the failure in that cell, and ends every process the run started.
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy) {
      log('still stopping: the notebook is written once the running cell has ended...');
      return;
    }
    stoppedBy = signal;
    log(`${signal}: stopping the running cell...`);
    stop.abort(signal === 'SIGINT' ? 'interrupted (Ctrl+C)' : `stopped (${signal})`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const result = await runNotebook({
    input: options.input,
    output,
    group: { ranks: options.ranks, gpus: options.gpus },
    timeoutSeconds: options.timeoutSeconds,
    log,
    signal: stop.signal
  });
  log(`wrote ${output}`);
  if (!result.ok) {
    log(`FAILED: ${result.failure}`);
  }
  if (stoppedBy) {
    return 128 + os.constants.signals[stoppedBy]; // 130 for Ctrl+C, as shells report it
  }
  return result.ok ? 0 : 1;
}

import { Command, InvalidArgumentError } from 'commander';
import * as fs from 'node:fs';

import { PACKAGE_VERSION } from '../package-root';
import { parseGpuList } from '../../src/protocol/gpu-list';
import { installExtension, uninstallExtension } from './extension';
import { runLab } from './lab';
import { runCommand } from './run';
import { runServe } from './serve';

function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`"${value}" is not a port number (1-65535).`);
  }
  return port;
}

function existingDir(value: string): string {
  if (!fs.existsSync(value) || !fs.statSync(value).isDirectory()) {
    throw new InvalidArgumentError(`"${value}" is not an existing directory.`);
  }
  return value;
}

function positiveInteger(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    throw new InvalidArgumentError(`"${value}" is not a positive whole number.`);
  }
  return Number(value);
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`"${value}" is not a positive number of seconds.`);
  }
  return n;
}

function gpuList(value: string) {
  try {
    return parseGpuList(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function fail(err: unknown): never {
  process.stderr.write(`jupyter-ddp: error: ${(err as Error).message ?? err}\n`);
  process.exit(1);
}

export function main(argv: string[]): void {
  const program = new Command('jupyter-ddp')
    .description('PyTorch DistributedDataParallel on every GPU, interactively in JupyterLab')
    .version(PACKAGE_VERSION)
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(`jupyter-ddp: ${text}`) });

  program
    .command('lab')
    .description('start JupyterLab with the DDP extension behind the jupyter-ddp server')
    .option(
      '--port <port>',
      'public port (the next free one is used if it is taken)',
      portNumber,
      8888
    )
    .option('--ip <address>', 'address to listen on (loopback by default)', '127.0.0.1')
    .option('--notebook-dir <dir>', 'folder JupyterLab serves', existingDir, process.cwd())
    .option('--no-browser', 'do not open a browser')
    .option('--verbose', "show the Jupyter server's log", false)
    .action(opts =>
      runLab({
        port: opts.port,
        ip: opts.ip,
        notebookDir: opts.notebookDir,
        browser: opts.browser,
        verbose: opts.verbose
      }).catch(fail)
    );

  program
    .command('run')
    .description('execute a notebook headless, local and DDP cells alike, and write its outputs')
    .argument('<notebook>', 'the .ipynb to run')
    .option('-o, --output <file>', 'where to write the executed notebook (default: NAME.out.ipynb)')
    .option('--inplace', 'write the outputs into the input notebook')
    .option('--gpus <list>', 'GPUs for the DDP group: all, or indices such as 0,2', gpuList)
    .option(
      '--ranks <n>',
      'number of ranks (CPU ranks where there is no GPU; default 2)',
      positiveInteger
    )
    .option('--timeout <seconds>', 'fail a cell that runs longer than this', positiveNumber)
    .action((notebook, opts) =>
      runCommand({
        input: notebook,
        output: opts.output,
        inplace: Boolean(opts.inplace),
        gpus: opts.gpus,
        ranks: opts.ranks,
        timeoutSeconds: opts.timeout
      })
        .then(code => process.exit(code))
        .catch(fail)
    );

  program
    .command('serve', { hidden: true })
    .description('serve /ddp/ for the jupyterlab_ddp Jupyter server extension, which runs this')
    .requiredOption('--root-dir <dir>', "the Jupyter server's root folder", existingDir)
    .requiredOption('--runtime-dir <dir>', 'a private folder for connection files', existingDir)
    .option('--python <path>', 'the Python that runs the process guard')
    .action(opts =>
      runServe({ rootDir: opts.rootDir, runtimeDir: opts.runtimeDir, python: opts.python }).catch(
        fail
      )
    );

  program
    .command('install')
    .description("install the extension into the Jupyter data directory's labextensions/")
    .option('--data-dir <dir>', 'Jupyter data directory (default: `jupyter --data-dir`)')
    .action(opts =>
      installExtension(opts.dataDir)
        .then(target => {
          process.stdout.write(
            `Installed the jupyterlab-ddp extension in ${target}\nRestart JupyterLab to load it.\n`
          );
        })
        .catch(fail)
    );

  program
    .command('uninstall')
    .description('remove the extension installed by `jupyter-ddp install`')
    .option('--data-dir <dir>', 'Jupyter data directory (default: `jupyter --data-dir`)')
    .action(opts =>
      uninstallExtension(opts.dataDir)
        .then(target => {
          process.stdout.write(
            target
              ? `Removed ${target}\n`
              : 'The jupyterlab-ddp extension is not installed there.\n'
          );
        })
        .catch(fail)
    );

  program.parse(argv);
}

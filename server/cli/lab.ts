import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';

import { JupyterAuthenticator } from '../http/auth';
import { createDdpServer } from '../http/server';
import { JupyterBackend } from '../jupyter/backend';
import { createRuntimeDir } from '../kernel/connection';
import { PACKAGE_VERSION } from '../package-root';
import { removeStaleTransferFiles } from '../process/stale-transfers';

export interface LabOptions {
  port: number;
  ip: string;
  notebookDir: string;
  browser: boolean;
  verbose: boolean;
}

const PORT_RETRIES = 50;

/** `jupyter-ddp lab`: Jupyter on a private port, our server in front of it; Ctrl+C ends both. */
export async function runLab(options: LabOptions): Promise<void> {
  const rootDir = fs.realpathSync(options.notebookDir);
  const token = process.env.JUPYTER_TOKEN || randomBytes(24).toString('hex');
  const loopback = isLoopback(options.ip);
  if (!loopback) {
    process.stderr.write(
      `jupyter-ddp: WARNING: listening on ${options.ip}, not loopback: anyone who can reach this ` +
        'machine and has the token can run code here.\n'
    );
  }

  process.stderr.write('jupyter-ddp: starting the Jupyter server...\n');
  const backend = await JupyterBackend.start({
    token,
    rootDir,
    allowRemoteAccess: !loopback,
    verbose: options.verbose
  });
  const runtimeDir = createRuntimeDir();
  const server = createDdpServer({
    jupyterUrl: backend.url,
    auth: new JupyterAuthenticator(backend.url),
    version: PACKAGE_VERSION,
    groupEnv: { rootDir, runtimeDir, python: backend.python },
    allowRemoteAccess: !loopback
  });

  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) {
      return;
    }
    stopping = true;
    process.stderr.write('jupyter-ddp: shutting down...\n');
    server.http.close();
    server.http.closeAllConnections();
    await Promise.all([server.groups.stopAll(), backend.stop()]);
    fs.rmSync(runtimeDir, { recursive: true, force: true });
    removeStaleTransferFiles(); // of ranks and kernels killed mid-transfer
    process.exit(code);
  };
  backend.onExit(message => {
    if (!stopping) {
      process.stderr.write(`jupyter-ddp: ${message}\n`);
      void shutdown(1);
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown(0));
  }

  let port: number;
  try {
    port = await listen(server.http, options.port, options.ip);
  } catch (err) {
    process.stderr.write(`jupyter-ddp: ${(err as Error).message}\n`);
    return shutdown(1);
  }
  const host = loopback
    ? options.ip.includes(':')
      ? `[${options.ip}]`
      : options.ip
    : os.hostname();
  const url = `http://${host}:${port}/lab?token=${token}`;
  process.stdout.write(
    `\n    jupyter-ddp ${PACKAGE_VERSION}: JupyterLab (${backend.kind === 'jupyterlab' ? 'your JupyterLab' : 'bundled JupyterLab'}) with DDP is running.\n` +
      `    Serving ${rootDir}\n    Open this URL in a browser:\n\n        ${url}\n\n    Press Ctrl+C to stop.\n\n`
  );
  if (options.browser) {
    openBrowser(url);
  }
}

function isLoopback(ip: string): boolean {
  return ip === 'localhost' || ip === '::1' || /^127\./.test(ip);
}

/** Listen on `port`, or on the next free one like Jupyter does; resolves with the bound port. */
async function listen(
  server: import('node:http').Server,
  port: number,
  ip: string
): Promise<number> {
  for (let attempt = 0; attempt <= PORT_RETRIES; attempt++) {
    const candidate = port === 0 ? 0 : port + attempt;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(candidate, ip, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as net.AddressInfo).port;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw new Error(`cannot listen on ${ip}:${candidate}: ${(err as Error).message}`);
      }
      process.stderr.write(`jupyter-ddp: port ${candidate} is in use, trying another\n`);
    }
  }
  throw new Error(`no free port among ${port}..${port + PORT_RETRIES}`);
}

function openBrowser(url: string): void {
  const opener =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', url]]
        : process.env.DISPLAY || process.env.WAYLAND_DISPLAY
          ? ['xdg-open', [url]]
          : null;
  if (!opener) {
    return;
  }
  const child = spawn(opener[0] as string, opener[1] as string[], {
    stdio: 'ignore',
    detached: true
  });
  child.on('error', () => undefined);
  child.unref();
}

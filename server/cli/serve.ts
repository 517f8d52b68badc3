import * as fs from 'node:fs';
import { AddressInfo } from 'node:net';

import { ProxySecretAuthenticator } from '../http/proxy-auth';
import { createDdpServer } from '../http/server';
import { findPython } from '../jupyter/python';
import { PACKAGE_VERSION } from '../package-root';
import { removeStaleTransferFiles } from '../process/stale-transfers';

export interface ServeOptions {
  /** The Jupyter server's root_dir: rank working directories are inside it. */
  rootDir: string;
  /** A private (0700) folder, the manager's, for the ranks' connection files. */
  runtimeDir: string;
  /** The Python that runs the process guard (the Jupyter server's own). */
  python?: string;
}

const PARENT_POLL_MS = 1000;

/** What the managing extension reads on our stdout to know where we listen. */
export const READY_PREFIX = 'JUPYTER_DDP_READY ';

/**
 * `jupyter-ddp serve`: this server as a child of a Jupyter server (the jupyterlab_ddp server
 * extension, which starts it, forwards `/ddp/` to it and restarts it if it dies). It listens on a
 * loopback port of its own choosing, takes requests only with the secret the two share
 * (JUPYTER_DDP_PROXY_SECRET in the environment, never on the command line where `ps` shows it) and
 * the notebook kernels' key, and ends its groups when told to stop.
 */
export async function runServe(options: ServeOptions): Promise<void> {
  const secret = process.env.JUPYTER_DDP_PROXY_SECRET ?? '';
  if (!secret) {
    throw new Error(
      'JUPYTER_DDP_PROXY_SECRET is not set: `serve` is run by the jupyterlab_ddp server extension'
    );
  }
  delete process.env.JUPYTER_DDP_PROXY_SECRET; // not for the ranks
  const restartedAfter = process.env.JUPYTER_DDP_RESTARTED_AFTER || undefined;
  delete process.env.JUPYTER_DDP_RESTARTED_AFTER;
  if (!fs.statSync(options.runtimeDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`the runtime folder ${options.runtimeDir} does not exist`);
  }
  const python = options.python ?? (await findPython([]));
  if (!python) {
    throw new Error('No Python 3 found for the process guard; pass --python');
  }
  removeStaleTransferFiles(); // of ranks killed with a server before us
  const server = createDdpServer({
    auth: new ProxySecretAuthenticator(secret),
    version: PACKAGE_VERSION,
    groupEnv: { rootDir: fs.realpathSync(options.rootDir), runtimeDir: options.runtimeDir, python },
    restartedAfter
  });

  let stopping = false;
  const shutdown = async () => {
    if (stopping) {
      return;
    }
    stopping = true;
    server.http.close();
    server.http.closeAllConnections();
    await server.groups.stopAll();
    removeStaleTransferFiles();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown());
  }
  // Our parent is the guard the extension started us under; if it is killed outright, nothing
  // else would end us: we are then adopted, and see it.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void shutdown(), PARENT_POLL_MS).unref();
  await new Promise<void>((resolve, reject) => {
    server.http.once('error', reject);
    server.http.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.http.address() as AddressInfo;
  process.stdout.write(
    `${READY_PREFIX}${JSON.stringify({ port, pid: process.pid, version: PACKAGE_VERSION })}\n`
  );
}

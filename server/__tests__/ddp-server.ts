import * as fs from 'node:fs';
import * as net from 'node:net';

import { createRuntimeDir } from '../kernel/connection';
import { JupyterAuthenticator } from '../http/auth';
import { createDdpServer, DdpServer } from '../http/server';
import { startTestJupyter, TestJupyter } from './jupyter-server';

/** Our public server in front of a real jupyter_server, on loopback ports, for tests. */
export interface TestDdpServer {
  jupyter: TestJupyter;
  ddp: DdpServer;
  /** host:port of our server */
  host: string;
  /** http://host:port */
  base: string;
  stop(): Promise<void>;
}

export async function startTestDdpServer(version = '0.0.0'): Promise<TestDdpServer> {
  const jupyter = await startTestJupyter();
  const runtimeDir = createRuntimeDir();
  const ddp = createDdpServer({
    jupyterUrl: jupyter.url,
    auth: new JupyterAuthenticator(jupyter.url),
    version,
    groupEnv: {
      rootDir: jupyter.rootDir,
      runtimeDir,
      python: '/usr/bin/python3'
    }
  });
  await new Promise<void>(resolve => ddp.http.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(ddp.http.address() as net.AddressInfo).port}`;
  return {
    jupyter,
    ddp,
    host,
    base: `http://${host}`,
    stop: async () => {
      await ddp.groups.stopAll();
      // Upgraded sockets are not the HTTP server's to close: end them first, or close() waits.
      ddp.events.close();
      ddp.http.closeAllConnections();
      await new Promise(resolve => ddp.http.close(resolve));
      await jupyter.stop();
      fs.rmSync(runtimeDir, { recursive: true, force: true });
    }
  };
}

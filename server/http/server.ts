import express from 'express';
import * as http from 'node:http';
import httpProxy from 'http-proxy';

import { API_PREFIX, WS_PATH } from '../../src/protocol/api';
import { ServerMessage } from '../../src/protocol/api';
import { GroupEnvironment } from '../group/group';
import { Groups } from '../group/registry';
import { apiRouter } from './api';
import { Authenticator } from './auth';
import { EventHub } from './events';
import { startExecution } from './groups';
import { newKernelKey } from './kernel-api';

export interface DdpServerOptions {
  /** The Jupyter server everything outside `/ddp/` is proxied to. */
  jupyterUrl: string;
  auth: Authenticator;
  version: string;
  /** Where the DDP group's ranks run. */
  groupEnv: GroupEnvironment;
  /** As Jupyter's allow_remote_access (a public --ip): Host headers need not be loopback. */
  allowRemoteAccess?: boolean;
}

export interface DdpServer {
  http: http.Server;
  events: EventHub;
  groups: Groups;
}

/**
 * The public HTTP server: `/ddp/api/...` and its WebSocket are ours; every other request and
 * WebSocket goes unchanged (Host included, so Jupyter's own origin and cookie checks still hold)
 * to the Jupyter server.
 */
export function createDdpServer(options: DdpServerOptions): DdpServer {
  const proxy = httpProxy.createProxyServer({ target: options.jupyterUrl, ws: true, xfwd: false });
  proxy.on('error', (err, _req, target) => {
    if (target instanceof http.ServerResponse) {
      if (!target.headersSent) {
        target.writeHead(502, { 'Content-Type': 'text/plain' });
      }
      target.end(`jupyter-ddp: the Jupyter server is unreachable (${err.message})`);
    } else {
      target.destroy();
    }
  });

  const groups = new Groups(options.groupEnv, (message: ServerMessage, rawContent?: Buffer) =>
    events.broadcast(message, rawContent)
  );
  const events = new EventHub(
    options.auth,
    options.version,
    () => groups.default.summary(),
    (name, body) => startExecution(groups, name, body)
  );
  const app = express();
  app.disable('x-powered-by');
  app.use(
    `/${API_PREFIX}`,
    apiRouter({
      auth: options.auth,
      version: options.version,
      groups,
      // a new key at every start: a key from an earlier run is worth nothing
      kernelKey: newKernelKey(),
      allowRemoteAccess: options.allowRemoteAccess ?? false
    })
  );
  app.use((req, res) => proxy.web(req, res));

  const server = http.createServer(app);
  server.on('upgrade', (req, socket, head) => {
    // A browser closing a tab resets its sockets; that must not take the server down.
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === `/${WS_PATH}`) {
      void events.handleUpgrade(req, socket, head);
    } else {
      proxy.ws(req, socket, head);
    }
  });
  server.on('close', () => {
    events.close();
    proxy.close();
  });
  return { http: server, events, groups };
}

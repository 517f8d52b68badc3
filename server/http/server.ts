import express from 'express';
import { randomUUID } from 'node:crypto';
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
  /**
   * The Jupyter server everything outside `/ddp/` is proxied to (`jupyter-ddp lab`); none when
   * the Jupyter server runs us (`jupyter-ddp serve`), and only `/ddp/` is served.
   */
  jupyterUrl?: string;
  auth: Authenticator;
  version: string;
  /** Where the DDP group's ranks run. */
  groupEnv: GroupEnvironment;
  /** As Jupyter's allow_remote_access (a public --ip): Host headers need not be loopback. */
  allowRemoteAccess?: boolean;
  /** Why the server before this one ended, when its manager restarted it (said in `hello`). */
  restartedAfter?: string;
}

export interface DdpServer {
  http: http.Server;
  events: EventHub;
  groups: Groups;
}

/**
 * The HTTP server of `/ddp/api/...` and its WebSocket. In front of Jupyter (`jupyter-ddp lab`),
 * every other request and WebSocket goes unchanged (Host included, so Jupyter's own origin and
 * cookie checks still hold) to the Jupyter server.
 */
export function createDdpServer(options: DdpServerOptions): DdpServer {
  const groups = new Groups(options.groupEnv, (message: ServerMessage, rawContent?: Buffer) =>
    events.broadcast(message, rawContent)
  );
  const events = new EventHub(
    { version: options.version, serverId: randomUUID(), restartedAfter: options.restartedAfter },
    options.auth,
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
  const proxy = options.jupyterUrl ? jupyterProxy(options.jupyterUrl) : null;
  app.use((req, res) => {
    if (proxy) {
      proxy.web(req, res);
    } else {
      res.status(404).json({ error: `Not a jupyter-ddp route: ${req.method} ${req.path}` });
    }
  });

  const server = http.createServer(app);
  server.on('upgrade', (req, socket, head) => {
    // A browser closing a tab resets its sockets; that must not take the server down.
    socket.on('error', () => socket.destroy());
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === `/${WS_PATH}`) {
      void events.handleUpgrade(req, socket, head);
    } else if (proxy) {
      proxy.ws(req, socket, head);
    } else {
      socket.destroy();
    }
  });
  server.on('close', () => {
    events.close();
    proxy?.close();
  });
  return { http: server, events, groups };
}

/** Requests and WebSockets outside `/ddp/`, unchanged (Host too), to the Jupyter server. */
function jupyterProxy(target: string): httpProxy {
  const proxy = httpProxy.createProxyServer({ target, ws: true, xfwd: false });
  proxy.on('error', (err, _req, res) => {
    if (res instanceof http.ServerResponse) {
      if (!res.headersSent) {
        res.writeHead(502, { 'Content-Type': 'text/plain' });
      }
      res.end(`jupyter-ddp: the Jupyter server is unreachable (${err.message})`);
    } else {
      res.destroy();
    }
  });
  return proxy;
}

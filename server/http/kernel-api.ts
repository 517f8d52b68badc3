import express, { NextFunction, Request, RequestHandler, Response } from 'express';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

import { API_PREFIX, ApiError, KernelClientInfo } from '../../src/protocol/api';
import { installModulesCode } from '../kernel/python-modules';
import { jsonBody } from './body';
import { GroupRegistry, groupsRouter } from './groups';
import { isLoopbackHost } from './host';

/**
 * Notebook kernels call the server too (`ddp.push`, `%dipull`): they authenticate with a key the
 * server makes at each start and hands only to authenticated clients (`GET /ddp/api/kernel-client`),
 * which pass it on to their kernel. The user never sees or copies it.
 */
export function newKernelKey(): string {
  return randomBytes(32).toString('hex');
}

/** Whether the request carries the kernel key (`Authorization: token KEY`). */
function hasKernelKey(req: IncomingMessage, key: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`token ${key}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface KernelKeyScope {
  key: string;
  /** The groups a kernel holding the key may use. */
  mayUse: (group: string) => boolean;
  /** As Jupyter's allow_remote_access: without it, the Host must be loopback. */
  allowRemoteAccess: boolean;
}

/** What `ddp` in a kernel calls: the group's info (`world_size`), push, pull, call, interrupt. */
const KERNEL_ROUTE = /^\/groups\/([^/]+)(?:\/(push|pull|call|interrupt))?$/;

function kernelMayCall(req: Request, mayUse: (group: string) => boolean): boolean {
  const match = KERNEL_ROUTE.exec(req.path);
  if (!match) {
    return false;
  }
  let group: string;
  try {
    group = decodeURIComponent(match[1]);
  } catch {
    return false;
  }
  return mayUse(group) && req.method === (match[2] ? 'POST' : 'GET');
}

/**
 * Requests with the kernel key may do only what kernels need, on their own group, and only under
 * a loopback Host unless remote access is allowed (the key is a header, never sent by a browser on
 * its own, so no XSRF check). Every other request goes to `otherwise`.
 */
export function kernelKeyAuth(scope: KernelKeyScope, otherwise: RequestHandler): RequestHandler {
  return (req: Request, res: Response<ApiError>, next: NextFunction) => {
    if (!hasKernelKey(req, scope.key)) {
      Promise.resolve(otherwise(req, res, next)).catch(next);
    } else if (!scope.allowRemoteAccess && !isLoopbackHost(req.headers.host)) {
      res.status(403).json({ error: `Host ${req.headers.host} is not a loopback address` });
    } else if (!kernelMayCall(req, scope.mayUse)) {
      res.status(403).json({
        error: `The kernel key allows only GET of its group and its push, pull, call and interrupt, not ${req.method} ${req.baseUrl}${req.path}`
      });
    } else {
      next();
    }
  };
}

/** The client modules, made again at every set-up (a new key, a new server). */
const CLIENT_MODULES = installModulesCode(['jupyter_ddp_values', 'jupyter_ddp'], true);

/**
 * Python that makes the `jupyter_ddp` module in a notebook kernel and installs `ddp`, talking to
 * the server at `url`. Run silently; running it again (a new key, a new server) replaces it.
 */
export function kernelClientCode(url: string, key: string, group: string): string {
  const args = [url, key, group].map(a => JSON.stringify(a)).join(', ');
  return `${CLIENT_MODULES}\n__import__("sys").modules["jupyter_ddp"].install(${args})`;
}

/** The kernel client for a request's server: reachable where the request arrived. */
export function kernelClientInfo(
  req: IncomingMessage,
  key: string,
  group: string
): KernelClientInfo {
  const { localAddress, localPort } = req.socket;
  const host = localAddress?.includes(':') ? `[${localAddress}]` : localAddress;
  const url = `http://${host}:${localPort}`;
  return { url, key, group, code: kernelClientCode(url, key, group) };
}

export interface KernelApi {
  url: string;
  key: string;
  close(): Promise<void>;
}

/**
 * For the headless runner, which has no public server: the kernel routes of the group routes on a
 * loopback port, for its notebook kernel only (the kernel key is the only credential accepted).
 */
export async function serveKernelApi(
  groups: GroupRegistry,
  /** Awaited before each authorised request (the runner starts its group here, on demand). */
  beforeRequest: () => Promise<void> = async () => undefined
): Promise<KernelApi> {
  const key = newKernelKey();
  const app = express();
  app.disable('x-powered-by');
  const scope = {
    key,
    mayUse: (name: string) => groups.names().includes(name),
    allowRemoteAccess: false
  };
  app.use(
    `/${API_PREFIX}`,
    kernelKeyAuth(scope, (_req, res) => res.status(401).json({ error: 'Authentication required' })),
    ...jsonBody(),
    (_req: Request, _res: Response, next: NextFunction) =>
      void beforeRequest().then(() => next(), next),
    express.Router().use('/groups', groupsRouter(groups))
  );
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    key,
    close: () => new Promise(resolve => server.close(() => resolve()))
  };
}

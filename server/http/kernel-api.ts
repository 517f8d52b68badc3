import express from 'express';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';

import { API_PREFIX, KernelClientInfo } from '../../src/protocol/api';
import { PACKAGE_ROOT } from '../package-root';
import { GroupRegistry, groupsRouter } from './groups';

/**
 * Notebook kernels call the server too (`ddp.push`, `%dipull`): they authenticate with a key the
 * server makes at start and hands only to authenticated clients (`GET /ddp/api/kernel-client`),
 * which pass it on to their kernel. The user never sees or copies it.
 */
export function newKernelKey(): string {
  return randomBytes(32).toString('hex');
}

/** Whether the request carries the kernel key (`Authorization: token KEY`). */
export function hasKernelKey(req: IncomingMessage, key: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`token ${key}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const CLIENT_MODULE = ['ddp_values.py', 'ddp_client.py']
  .map(file => fs.readFileSync(path.join(PACKAGE_ROOT, 'server', 'py', file), 'utf8'))
  .join('\n\n');

/**
 * Python that makes the `jupyter_ddp` module in a notebook kernel and installs `ddp`, talking to
 * the server at `url`. Run silently; running it again (a new key, a new server) replaces it.
 */
export function kernelClientCode(url: string, key: string, group: string): string {
  const args = [CLIENT_MODULE, url, key, group].map(a => JSON.stringify(a)).join(', ');
  return [
    'def __jupyter_ddp_setup(code, url, key, group):',
    '    import sys, types',
    '    module = types.ModuleType("jupyter_ddp")',
    '    exec(compile(code, "<jupyter-ddp client>", "exec"), module.__dict__)',
    '    sys.modules["jupyter_ddp"] = module',
    '    module.install(url, key, group)',
    `__jupyter_ddp_setup(${args})`,
    'del __jupyter_ddp_setup'
  ].join('\n');
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
 * For the headless runner, which has no public server: the group routes on a loopback port,
 * for its notebook kernel only (the kernel key is the only credential accepted).
 */
export async function serveKernelApi(
  groups: GroupRegistry,
  /** Awaited before each authorised request (the runner starts its group here, on demand). */
  beforeRequest: () => Promise<void> = async () => undefined
): Promise<KernelApi> {
  const key = newKernelKey();
  const app = express();
  app.disable('x-powered-by');
  app.use(`/${API_PREFIX}`, (req, res, next) => {
    if (hasKernelKey(req, key)) {
      next();
    } else {
      res.status(401).json({ error: 'Authentication required' });
    }
  });
  app.use(
    `/${API_PREFIX}`,
    express.json(),
    (_req, _res, next) => void beforeRequest().then(() => next(), next),
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

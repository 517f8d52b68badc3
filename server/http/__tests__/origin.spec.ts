import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

import { startTestDdpServer, TestDdpServer } from '../../__tests__/ddp-server';
import { loginCookies, request } from './http-request';

/**
 * WebSocket Origin rules: /ddp/api/ws and Jupyter's own WebSockets through our proxy must accept
 * and refuse exactly what the real jupyter_server accepts and refuses when it is served directly
 * (its check_origin: a valid token skips the check; otherwise an Origin, if there is one, must
 * name the Host, whatever its scheme). A real kernel's channels stand for Jupyter's WebSockets.
 */
describe('WebSocket Origin, as Jupyter decides it', () => {
  let server: TestDdpServer;
  let jupyterHost: string;
  let kernelPath: string;
  const cookies = new Map<string, string>();

  beforeAll(async () => {
    server = await startTestDdpServer();
    jupyterHost = new URL(server.jupyter.url).host;
    const token = server.jupyter.token;
    const kernel = await request(`${server.jupyter.url}/api/kernels?token=${token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'python3' })
    });
    kernelPath = `/api/kernels/${JSON.parse(kernel.body).id}/channels`;
    for (const host of [jupyterHost, server.host]) {
      cookies.set(host, (await loginCookies(`http://${host}`, token)).cookie);
    }
  });

  afterAll(() => server.stop());

  type Case = (host: string) => {
    origin?: string;
    cookie?: boolean;
    token?: string;
    secOrigin?: string;
  };
  const evil = 'http://evil.example.com';
  const cases: [string, boolean, Case][] = [
    ['the token, a cross-site Origin', true, () => ({ token: 'right', origin: evil })],
    ['the token, no Origin', true, () => ({ token: 'right' })],
    ['the cookie, a cross-site Origin', false, () => ({ cookie: true, origin: evil })],
    ['the cookie, its own Origin', true, host => ({ cookie: true, origin: `http://${host}` })],
    [
      'the cookie, its host over https',
      true,
      host => ({ cookie: true, origin: `https://${host}` })
    ],
    [
      'the cookie, its host in capitals',
      true,
      host => ({ cookie: true, origin: `HTTP://${host}` })
    ],
    ['the cookie, no Origin', true, () => ({ cookie: true })],
    ['the cookie, another port', false, () => ({ cookie: true, origin: 'http://127.0.0.1:1' })],
    ['the cookie, Origin null', false, () => ({ cookie: true, origin: 'null' })],
    [
      'the cookie, a cross-site Sec-WebSocket-Origin',
      false,
      () => ({ cookie: true, secOrigin: evil })
    ],
    [
      'the cookie and a wrong token, a cross-site Origin',
      false,
      () => ({ cookie: true, token: 'wrong', origin: evil })
    ],
    [
      'the cookie and a wrong token, its own Origin',
      true,
      host => ({ cookie: true, token: 'wrong', origin: `http://${host}` })
    ],
    [
      'a wrong token, its own Origin',
      false,
      host => ({ token: 'wrong', origin: `http://${host}` })
    ],
    ['nothing, its own Origin', false, host => ({ origin: `http://${host}` })]
  ];

  /** Whether a WebSocket to `path` on `host` opens with what `make` says to send. */
  function opens(host: string, path: string, make: Case): Promise<boolean> {
    const { origin, cookie, token, secOrigin } = make(host);
    const headers: Record<string, string> = {};
    if (origin) {
      headers.Origin = origin;
    }
    if (secOrigin) {
      headers['Sec-WebSocket-Origin'] = secOrigin;
    }
    if (cookie) {
      headers.Cookie = cookies.get(host)!;
    }
    // a session of its own each time: Jupyter hangs a session whose first socket it refused
    const session = path.startsWith('/api/kernels') ? `?session_id=${randomUUID()}` : '';
    const query = token
      ? `${session ? '&' : '?'}token=${token === 'right' ? server.jupyter.token : token}`
      : '';
    const ws = new WebSocket(`ws://${host}${path}${session}${query}`, { headers });
    return new Promise(resolve => {
      ws.once('open', () => {
        ws.close();
        resolve(true);
      });
      ws.once('unexpected-response', () => {
        ws.terminate();
        resolve(false);
      });
      ws.once('error', () => resolve(false));
    });
  }

  it.each(cases)('with %s: Jupyter accepts it: %s, and so do we', async (_what, accepted, make) => {
    const direct = await opens(jupyterHost, kernelPath, make);
    const proxied = await opens(server.host, kernelPath, make);
    const ours = await opens(server.host, '/ddp/api/ws', make);
    expect({ direct, proxied, ours }).toEqual({
      direct: accepted,
      proxied: accepted,
      ours: accepted
    });
  });
});

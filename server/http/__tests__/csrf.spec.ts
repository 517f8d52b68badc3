import * as net from 'node:net';

import { KernelClientInfo } from '../../../src/protocol/api';
import { startTestDdpServer, TestDdpServer } from '../../__tests__/ddp-server';
import { createRuntimeDir } from '../../kernel/connection';
import { JupyterAuthenticator } from '../auth';
import { createDdpServer } from '../server';
import { loginCookies, request } from './http-request';

/**
 * Cross-site requests, bodies and the kernel key, through the real server in front of a real
 * jupyter_server, with a real login cookie. `POST .../interrupt` of the stopped group stands for
 * any change: it answers 409 (not running) when let through.
 */
describe('/ddp/api against cross-site requests', () => {
  let server: TestDdpServer;
  let token: string;
  let cookie: string;
  let xsrf: string;

  beforeAll(async () => {
    server = await startTestDdpServer();
    token = server.jupyter.token;
    ({ cookie, xsrf } = await loginCookies(server.base, token));
  });

  afterAll(() => server.stop());

  const interrupt = (query: string, headers: Record<string, string>, body?: string) =>
    request(`${server.base}/ddp/api/groups/default/interrupt${query}`, {
      method: 'POST',
      headers,
      body
    });

  it.each([
    ['text/plain', '{"x": 1}'],
    ['application/x-www-form-urlencoded', 'x=1'],
    [
      'multipart/form-data; boundary=b',
      '--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--b--\r\n'
    ]
  ])('refuses a cross-site form (cookie, %s, no XSRF header)', async (type, body) => {
    const res = await interrupt('', { Cookie: cookie, 'Content-Type': type }, body);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error).toMatch(/XSRF/);
  });

  it('refuses the cookie with a wrong token beside it, in the query or the header', async () => {
    const json = { Cookie: cookie, 'Content-Type': 'application/json' };
    const byQuery = await interrupt('?token=wrong', json, '{}');
    expect(byQuery.status).toBe(403);
    expect(JSON.parse(byQuery.body).error).toMatch(/XSRF/);
    const byHeader = await interrupt('', { ...json, Authorization: 'token wrong' }, '{}');
    expect(byHeader.status).toBe(403);
    expect(JSON.parse(byHeader.body).error).toMatch(/XSRF/);
  });

  it('lets the token alone through, and the cookie with the right XSRF header', async () => {
    expect((await interrupt(`?token=${token}`, {})).status).toBe(409);
    expect((await interrupt('', { Authorization: `token ${token}` })).status).toBe(409);
    const withXsrf = await interrupt(
      '',
      { Cookie: cookie, 'X-XSRFToken': xsrf, 'Content-Type': 'application/json' },
      '{}'
    );
    expect(withXsrf.status).toBe(409);
    expect((await interrupt('', { Cookie: cookie, 'X-XSRFToken': 'other' })).status).toBe(403);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b'])(
    'refuses a %s body with a 415, even with the token',
    async type => {
      const res = await request(`${server.base}/ddp/api/groups/default?token=${token}`, {
        method: 'POST',
        headers: { 'Content-Type': type },
        body: '{"ranks": 1}'
      });
      expect(res.status).toBe(415);
      expect(JSON.parse(res.body).error).toMatch(/must be JSON/);
    }
  );

  it('refuses a body without a Content-Type with a 415', async () => {
    const res = await interrupt(`?token=${token}`, { 'Content-Length': '2' }, '{}');
    expect(res.status).toBe(415);
  });

  it.each([1e-9, 0.5, 1e12, 8 * 24 * 3600])(
    'refuses timeoutSeconds %d with a 400 naming it',
    async timeoutSeconds => {
      const res = await request(`${server.base}/ddp/api/groups/default?token=${token}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ranks: 1, timeoutSeconds })
      });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.body).field).toBe('timeoutSeconds');
    }
  );

  describe('the kernel key', () => {
    let info: KernelClientInfo;
    const withKey = (method: string, path: string, host = server.host, key = info.key) =>
      request(`${server.base}/ddp/api${path}`, {
        method,
        headers: {
          Host: host,
          Authorization: `token ${key}`,
          ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {})
        },
        body: method === 'POST' ? '{}' : undefined
      });

    beforeAll(async () => {
      info = JSON.parse(
        (await request(`${server.base}/ddp/api/kernel-client?token=${token}`, {})).body
      );
    });

    it('does what a kernel needs: its group’s info, push, pull, call, interrupt', async () => {
      expect((await withKey('GET', '/groups/default')).status).toBe(200);
      expect((await withKey('POST', '/groups/default/interrupt')).status).toBe(409);
      for (const route of ['push', 'pull', 'call']) {
        // the body is wrong, but it got past the key: 400, not 403
        expect((await withKey('POST', `/groups/default/${route}`)).status).toBe(400);
      }
    });

    it.each([
      ['GET', '/health'],
      ['GET', '/kernel-client'],
      ['GET', '/groups'],
      ['POST', '/groups/default'],
      ['DELETE', '/groups/default'],
      ['POST', '/groups/default/restart'],
      ['POST', '/groups/default/executions'],
      ['GET', '/groups/default/executions'],
      ['POST', '/groups/other/push']
    ])('refuses %s %s with a 403', async (method, path) => {
      const res = await withKey(method, path);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body).error).toMatch(/kernel key allows only/);
    });

    it.each(['evil.example.com', 'rebound.example.com:8888', '10.0.0.1'])(
      'refuses it under the non-loopback Host %s (DNS rebinding)',
      async host => {
        const res = await withKey('POST', '/groups/default/interrupt', host);
        expect(res.status).toBe(403);
        expect(JSON.parse(res.body).error).toMatch(/not a loopback address/);
      }
    );

    it('takes it under any loopback Host', async () => {
      const port = server.host.split(':')[1];
      for (const host of [`localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`]) {
        expect((await withKey('GET', '/groups/default', host)).status).toBe(200);
      }
    });

    it('is new at every start of the server', async () => {
      const again = createDdpServer({
        jupyterUrl: server.jupyter.url,
        auth: new JupyterAuthenticator(server.jupyter.url),
        version: '0.0.0',
        groupEnv: {
          rootDir: server.jupyter.rootDir,
          runtimeDir: createRuntimeDir(),
          python: '/usr/bin/python3'
        }
      });
      await new Promise<void>(resolve => again.http.listen(0, '127.0.0.1', resolve));
      const host = `127.0.0.1:${(again.http.address() as net.AddressInfo).port}`;
      try {
        const other: KernelClientInfo = JSON.parse(
          (await request(`http://${host}/ddp/api/kernel-client?token=${token}`, {})).body
        );
        expect(other.key).toMatch(/^[0-9a-f]{64}$/);
        expect(other.key).not.toBe(info.key);
        const old = await request(`http://${host}/ddp/api/groups/default`, {
          headers: { Authorization: `token ${info.key}` }
        });
        expect(old.status).toBe(403); // shown to Jupyter as a token, which it is not
      } finally {
        await again.groups.stopAll();
        again.http.closeAllConnections();
        await new Promise(resolve => again.http.close(resolve));
      }
    });
  });
});

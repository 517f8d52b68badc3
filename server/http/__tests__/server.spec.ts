import WebSocket from 'ws';

import { HealthResponse, ServerMessage } from '../../../src/protocol/api';
import { startTestDdpServer, TestDdpServer } from '../../__tests__/ddp-server';
import { TestJupyter } from '../../__tests__/jupyter-server';

/** The public server in front of a real jupyter_server: auth, proxying, XSRF, WebSocket origin. */
describe('jupyter-ddp HTTP server', () => {
  let server: TestDdpServer;
  let jupyter: TestJupyter;
  let base: string;
  let host: string;

  beforeAll(async () => {
    server = await startTestDdpServer('9.9.9');
    ({ jupyter, base, host } = server);
  });

  afterAll(() => server.stop());

  it('refuses /ddp/api/health without credentials', async () => {
    const res = await fetch(`${base}/ddp/api/health`);
    expect(res.status).toBe(401);
    expect((await res.json()).error).toMatch(/Authentication required/);
  });

  it('refuses a wrong token', async () => {
    const res = await fetch(`${base}/ddp/api/health?token=wrong`);
    expect(res.status).toBe(403);
  });

  it('answers with the token in the query or the Authorization header', async () => {
    const byQuery = await fetch(`${base}/ddp/api/health?token=${jupyter.token}`);
    expect(byQuery.status).toBe(200);
    const body = (await byQuery.json()) as HealthResponse;
    expect(body).toEqual({
      status: 'ok',
      version: '9.9.9',
      group: { state: 'stopped', worldSize: 0, device: null }
    });

    const byHeader = await fetch(`${base}/ddp/api/health`, {
      headers: { Authorization: `token ${jupyter.token}` }
    });
    expect(byHeader.status).toBe(200);
  });

  it("answers with Jupyter's login cookie, obtained through the proxy", async () => {
    const login = await fetch(`${base}/api/status?token=${jupyter.token}`);
    expect(login.status).toBe(200);
    const cookies = login.headers.getSetCookie().map(c => c.split(';')[0]);
    expect(cookies.some(c => c.startsWith('username-'))).toBe(true);
    const res = await fetch(`${base}/ddp/api/health`, { headers: { Cookie: cookies.join('; ') } });
    expect(res.status).toBe(200);
  });

  it('proxies Jupyter and its authentication unchanged', async () => {
    expect((await fetch(`${base}/api/contents`)).status).toBe(403);
    const res = await fetch(`${base}/api/contents?token=${jupyter.token}`);
    expect(res.status).toBe(200);
    expect((await res.json()).type).toBe('directory');
  });

  it('answers unknown API routes with a JSON 404', async () => {
    const res = await fetch(`${base}/ddp/api/nope?token=${jupyter.token}`);
    expect(res.status).toBe(404);
    expect((await res.json()).error).toMatch(/No such API route: GET \/ddp\/api\/nope/);
  });

  it('requires the XSRF token for cookie-authenticated writes', async () => {
    const login = await fetch(`${base}/api/status?token=${jupyter.token}`);
    const cookies = login.headers.getSetCookie().map(c => c.split(';')[0]);
    const res = await fetch(`${base}/ddp/api/health`, {
      method: 'POST',
      headers: { Cookie: cookies.join('; ') }
    });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toMatch(/XSRF/);
  });

  it('greets an authenticated same-origin WebSocket with the group state', async () => {
    const ws = new WebSocket(`ws://${host}/ddp/api/ws?token=${jupyter.token}`, {
      headers: { Origin: base }
    });
    const message = await new Promise<ServerMessage>((resolve, reject) => {
      ws.once('message', data => resolve(JSON.parse(data.toString())));
      ws.once('error', reject);
    });
    ws.close();
    expect(message).toEqual({
      type: 'hello',
      version: '9.9.9',
      serverId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      group: { state: 'stopped', worldSize: 0, device: null },
      serverTime: expect.any(Number)
    });
  });

  it('refuses a cross-origin WebSocket authenticated by the cookie (origin.spec.ts has the rest)', async () => {
    const login = await fetch(`${base}/api/status?token=${jupyter.token}`);
    const cookies = login.headers.getSetCookie().map(c => c.split(';')[0]);
    const status = await upgradeStatus(`ws://${host}/ddp/api/ws`, 'http://evil.example.com', {
      Cookie: cookies.join('; ')
    });
    expect(status).toBe(403);
  });

  it('refuses an unauthenticated WebSocket', async () => {
    expect(await upgradeStatus(`ws://${host}/ddp/api/ws`, base)).toBe(401);
  });
});

function upgradeStatus(
  url: string,
  origin: string,
  headers: Record<string, string> = {}
): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { ...headers, Origin: origin } });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('the WebSocket was accepted')));
    ws.once('error', () => undefined);
  });
}

import WebSocket from 'ws';

import { ServerMessage } from '../../../src/protocol/api';
import { startTestDdpServer, TestDdpServer } from '../../__tests__/ddp-server';
import { MAX_BUFFERED_BYTES, MAX_CLIENTS } from '../events';
import { frame, FrameOptions, rawUpgrade } from './raw-ws';

/**
 * The /ddp/api/ws WebSocket against hostile and broken clients, through the real server (in front
 * of a real jupyter_server), with hand-made frames over real TCP sockets.
 */
describe('/ddp/api/ws against broken clients', () => {
  let server: TestDdpServer;
  let wsPath: string;

  beforeAll(async () => {
    process.env.JUPYTER_DDP_QUIET = '1';
    server = await startTestDdpServer();
    wsPath = `/ddp/api/ws?token=${server.jupyter.token}`;
  });

  afterAll(async () => {
    await server.stop();
    delete process.env.JUPYTER_DDP_QUIET;
  });

  /** A well-behaved client, and every message it gets. */
  async function goodClient(): Promise<{ ws: WebSocket; messages: ServerMessage[] }> {
    const ws = new WebSocket(`ws://${server.host}${wsPath}`);
    const messages: ServerMessage[] = [];
    ws.on('message', data => messages.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { ws, messages };
  }

  const output = (seq: number, text: string): ServerMessage => ({
    type: 'output',
    group: 'default',
    event: { execution: 'e1', rank: 0, seq, msgType: 'stream', content: { name: 'stdout', text } }
  });

  async function until(done: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 400 && !done(); i++) {
      await new Promise(r => setTimeout(r, 25));
    }
    if (!done()) {
      throw new Error(`never happened: ${what}`);
    }
  }

  const health = () =>
    fetch(`${server.base}/ddp/api/health?token=${server.jupyter.token}`).then(r => r.status);

  it.each<[string, number, FrameOptions]>([
    ['invalid UTF-8 in a text frame', 1007, { opcode: 1, payload: Buffer.from([0x7b, 0xff]) }],
    ['a frame over the payload limit', 1009, { opcode: 1, claimedLength: 17 * 1024 * 1024 }],
    ['an unmasked frame', 1002, { opcode: 1, payload: Buffer.from('{}'), masked: false }],
    ['RSV bits set', 1002, { opcode: 1, payload: Buffer.from('{}'), rsv: 4 }],
    ['a reserved opcode', 1002, { opcode: 3, payload: Buffer.from('{}') }],
    ['a stray continuation frame', 1002, { opcode: 0, payload: Buffer.from('{}') }]
  ])('closes a client that sends %s with code %i; the others go on', async (_what, code, bad) => {
    const other = await goodClient();
    const raw = await rawUpgrade(server.host, wsPath);
    raw.socket.write(frame(bad));
    expect(await raw.closeCode).toBe(code);
    raw.socket.destroy();

    server.ddp.events.broadcast(output(1, 'still here\n'));
    await until(() => other.messages.some(m => m.type === 'output'), 'the other client got it');
    expect(await health()).toBe(200);
    other.ws.close();
  });

  it('drops a client that stops reading, and only it; what waits for it stays bounded', async () => {
    const reader = await goodClient();
    const stalled = await rawUpgrade(server.host, wsPath);
    stalled.socket.pause(); // reads nothing more: the kernel's buffers fill, then the server's
    const clientOf = () => [...server.ddp.events.clients];
    await until(() => clientOf().length === 2, 'both connected');

    const text = 'x'.repeat(1024 * 1024);
    const count = 64;
    let mostBuffered = 0;
    for (let seq = 0; seq < count; seq++) {
      server.ddp.events.broadcast(output(seq, text));
      mostBuffered = Math.max(mostBuffered, ...clientOf().map(ws => ws.bufferedAmount));
      // the reader keeps up, as a browser tab does
      await until(
        () => reader.messages.filter(m => m.type === 'output').length === seq + 1,
        `the reader got output ${seq}`
      );
    }
    expect(clientOf()).toHaveLength(1); // the stalled one is gone
    expect(mostBuffered).toBeLessThanOrEqual(MAX_BUFFERED_BYTES + 2 * text.length);
    const seqs = reader.messages.flatMap(m => (m.type === 'output' ? [m.event.seq] : []));
    expect(seqs).toEqual([...Array(count).keys()]);

    stalled.socket.resume();
    await new Promise(resolve => stalled.socket.once('close', resolve));
    reader.ws.close();
  });

  it(`refuses a WebSocket past ${MAX_CLIENTS} with a 503 saying why`, async () => {
    await until(() => server.ddp.events.clients.size === 0, 'earlier clients gone');
    const open = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => goodClient()));
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const ws = new WebSocket(`ws://${server.host}${wsPath}`);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', chunk => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => reject(new Error('accepted')));
      ws.once('error', () => undefined);
    });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body).error).toBe(`Too many WebSockets: ${MAX_CLIENTS} are open`);

    open[0].ws.close();
    await until(() => server.ddp.events.clients.size < MAX_CLIENTS, 'one closed');
    const again = await goodClient();
    for (const client of [...open, again]) {
      client.ws.close();
    }
    await until(() => server.ddp.events.clients.size === 0, 'all closed');
  });

  describe('validates every client message, naming the field', () => {
    let client: { ws: WebSocket; messages: ServerMessage[] };
    beforeAll(async () => (client = await goodClient()));
    afterAll(() => client.ws.close());

    const replyTo = async (message: unknown) => {
      const before = client.messages.length;
      client.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
      await until(
        () => client.messages.slice(before).some(m => m.type === 'executeReply'),
        'a reply'
      );
      return client.messages.slice(before).find(m => m.type === 'executeReply');
    };
    const request = { code: 'pass' };

    it.each<[string, unknown, number, string, string]>([
      [
        'group as an object',
        { type: 'execute', id: 1, group: {}, request },
        1,
        'group',
        'field "group" must be string'
      ],
      [
        'group as a list',
        { type: 'execute', id: 2, group: ['default'], request },
        2,
        'group',
        'field "group" must be string'
      ],
      ['no group', { type: 'execute', id: 3, request }, 3, 'group', 'missing field "group"'],
      [
        'request as a string',
        { type: 'execute', id: 4, group: 'default', request: 'x' },
        4,
        'request',
        'field "request" must be object'
      ],
      [
        'an unknown type',
        { type: 'run', id: 5, group: 'default', request },
        5,
        'type',
        'field "type" must be "execute"'
      ],
      [
        'a fractional id',
        { type: 'execute', id: 1.5, group: 'default', request },
        -1,
        'id',
        'field "id" must be a non-negative integer'
      ],
      [
        'an unknown field',
        { type: 'execute', id: 6, group: 'default', request, x: 1 },
        6,
        'x',
        'unknown field "x"'
      ]
    ])('answers %s with a 400', async (_what, message, id, field, error) => {
      expect(await replyTo(message)).toEqual({
        type: 'executeReply',
        id,
        status: 400,
        error: { error, field }
      });
    });

    it('answers a message that is not JSON, or not text, with a 400', async () => {
      expect(await replyTo('{"type": "execute"')).toMatchObject({ id: -1, status: 400 });
      expect(await replyTo('null')).toMatchObject({ id: -1, status: 400 });
      const before = client.messages.length;
      client.ws.send(Buffer.from('{}'), { binary: true });
      await until(() => client.messages.length > before, 'a reply');
      expect(client.messages.at(-1)).toMatchObject({ id: -1, status: 400 });
    });
  });
});

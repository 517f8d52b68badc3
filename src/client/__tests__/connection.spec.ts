import { ServerConnection } from '@jupyterlab/services';
import { ISignal } from '@lumino/signaling';
import { AddressInfo } from 'node:net';
import { WebSocket as ServerSocket, WebSocketServer } from 'ws';

import {
  ClientMessage,
  DEFAULT_GROUP,
  ExecutionSummary,
  GroupSummary,
  ServerMessage
} from '../../protocol/api';
import { DdpConnection } from '../connection';

const READY: GroupSummary = { state: 'ready', worldSize: 2, device: 'cpu' };
const STOPPED: GroupSummary = { state: 'stopped', worldSize: 0, device: null };
const HOUR_MS = 3_600_000;

/** A real WebSocket server on a loopback port, speaking the jupyter-ddp protocol's side. */
class TestServer {
  readonly received: ClientMessage[] = [];
  private readonly _wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  private readonly _arrived: ServerSocket[] = [];
  private _waiting: ((socket: ServerSocket) => void) | null = null;
  /** Close each new connection at once, saying nothing (a server that is coming back up). */
  refusing = false;

  constructor() {
    this._wss.on('connection', socket => {
      if (this.refusing) {
        socket.terminate();
        return;
      }
      socket.on('message', data => this.received.push(JSON.parse(String(data)) as ClientMessage));
      if (this._waiting) {
        this._waiting(socket);
        this._waiting = null;
      } else {
        this._arrived.push(socket);
      }
    });
  }

  ready(): Promise<void> {
    return new Promise(resolve => this._wss.once('listening', () => resolve()));
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${(this._wss.address() as AddressInfo).port}/`;
  }

  /** The next client socket (one that already arrived, else the next to arrive). */
  nextConnection(): Promise<ServerSocket> {
    const arrived = this._arrived.shift();
    return arrived ? Promise.resolve(arrived) : new Promise(resolve => (this._waiting = resolve));
  }

  close(): Promise<void> {
    for (const socket of this._wss.clients) {
      socket.terminate();
    }
    return new Promise(resolve => this._wss.close(() => resolve()));
  }
}

function send(socket: ServerSocket, message: ServerMessage): void {
  socket.send(JSON.stringify(message));
}

function hello(
  socket: ServerSocket,
  group: GroupSummary,
  serverTime = Date.now(),
  server: { serverId: string; restartedAfter?: string } = { serverId: 'server-1' }
): void {
  send(socket, { type: 'hello', version: '0.0.0-test', ...server, group, serverTime });
}

/** The next value `signal` emits. */
function nextEmission<T>(signal: ISignal<unknown, T>): Promise<T> {
  return new Promise(resolve => {
    const once = (_: unknown, value: T) => {
      signal.disconnect(once);
      resolve(value);
    };
    signal.connect(once);
  });
}

/** Resolves once `condition()` holds, looking every few milliseconds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) {
    await new Promise(resolve => setTimeout(resolve, 5));
  }
}

/** The server-side socket's close, seen by the server. */
function closed(socket: ServerSocket): Promise<void> {
  return new Promise(resolve =>
    socket.readyState === socket.CLOSED ? resolve() : socket.once('close', () => resolve())
  );
}

describe('DdpConnection', () => {
  let server: TestServer;
  let connection: DdpConnection;
  /** Every socket the connection opened, counted as it opens it. */
  let attempts: number;

  beforeEach(async () => {
    server = new TestServer();
    await server.ready();
    attempts = 0;
    class CountingWebSocket extends WebSocket {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        attempts++;
      }
    }
    connection = new DdpConnection(
      ServerConnection.makeSettings({
        baseUrl: server.wsUrl.replace('ws:', 'http:'),
        wsUrl: server.wsUrl,
        appendToken: false,
        WebSocket: CountingWebSocket
      })
    );
  });

  afterEach(async () => {
    connection.dispose();
    jest.useRealTimers();
    await server.close();
  });

  /** Connect and answer with a hello; resolves once the connection has taken it. */
  async function connected(group = READY, serverTime?: number): Promise<ServerSocket> {
    connection.connect();
    const socket = await server.nextConnection();
    const changed = nextEmission(connection.groupChanged);
    hello(socket, group, serverTime);
    await changed;
    return socket;
  }

  it('has no group and no socket until the server says hello', async () => {
    expect(connection.group).toBeNull();
    expect(connection.isOpen).toBe(false);
    await expect(connection.execute(DEFAULT_GROUP, { code: 'pass' })).rejects.toThrow(
      'not connected to the jupyter-ddp server'
    );
    connection.connect();
    await server.nextConnection();
    expect(connection.group).toBeNull();
  });

  it('takes the group from the hello, and is not reconnected by the first one', async () => {
    let reconnects = 0;
    connection.reconnected.connect(() => reconnects++);
    await connected(READY);
    expect(connection.group).toEqual(READY);
    expect(connection.isOpen).toBe(true);
    expect(reconnects).toBe(0);
  });

  it('keeps the clock offset of the hello’s serverTime', async () => {
    await connected(READY, Date.now() + HOUR_MS);
    const offset = connection.serverNow() - Date.now();
    // An hour ahead, give or take the moments the hello took to arrive.
    expect(Math.abs(offset - HOUR_MS)).toBeLessThan(60_000);
  });

  it('follows the group and passes outputs and executions on', async () => {
    const socket = await connected(READY);
    const group = nextEmission(connection.groupChanged);
    send(socket, {
      type: 'group',
      group: {
        ...READY,
        state: 'busy',
        name: DEFAULT_GROUP,
        kernelName: null,
        backend: null,
        ranks: [],
        notices: []
      }
    });
    expect((await group)?.state).toBe('busy');
    expect(connection.group?.state).toBe('busy');

    const output = nextEmission(connection.output);
    const event = {
      execution: 'e1',
      rank: 1,
      seq: 0,
      msgType: 'stream' as const,
      content: { name: 'stdout', text: 'hi\n' }
    };
    send(socket, { type: 'output', group: DEFAULT_GROUP, event });
    expect(await output).toEqual(event);

    const execution = nextEmission(connection.execution);
    const summary: ExecutionSummary = {
      id: 'e1',
      ranks: [0, 1],
      status: 'ok',
      rankStatus: { 0: 'ok', 1: 'ok' },
      executionCount: { 0: 1, 1: 1 },
      startedAt: 0,
      rankEndedAt: { 0: 1, 1: 1 },
      nextSeq: 1
    };
    send(socket, { type: 'execution', group: DEFAULT_GROUP, execution: summary });
    expect(await execution).toEqual(summary);
  });

  it('settles an execute with its reply', async () => {
    const socket = await connected(READY);
    const reply = connection.execute(DEFAULT_GROUP, { code: 'print(1)' });
    const message = await new Promise<ClientMessage>(resolve =>
      socket.once('message', data => resolve(JSON.parse(String(data)) as ClientMessage))
    );
    expect(message).toMatchObject({
      type: 'execute',
      group: DEFAULT_GROUP,
      request: { code: 'print(1)' }
    });
    send(socket, {
      type: 'executeReply',
      id: message.id,
      status: 409,
      error: { error: 'group "default" is stopped; start it first' }
    });
    await expect(reply).rejects.toMatchObject({
      message: 'group "default" is stopped; start it first',
      status: 409
    });
  });

  it('on a drop: no group, pending executes rejected, then back with `reconnected` after the second hello', async () => {
    const first = await connected(READY);
    let reconnects = 0;
    connection.reconnected.connect(() => reconnects++);
    const pending = connection.execute(DEFAULT_GROUP, { code: 'import time; time.sleep(60)' });
    await new Promise(resolve => first.once('message', resolve));

    const lost = nextEmission(connection.groupChanged);
    first.terminate();
    expect(await lost).toBeNull();
    expect(connection.group).toBeNull();
    expect(connection.isOpen).toBe(false);
    // Whether the cell started is unknown: it is not sent again, and says why it failed.
    await expect(pending).rejects.toThrow('the connection to the jupyter-ddp server was lost');

    // It tries again by itself (after the backoff's first wait, see below).
    const second = await server.nextConnection();
    expect(attempts).toBe(2);
    // Open again, but nothing is known until the server says hello: not reconnected yet.
    await until(() => connection.isOpen);
    expect(reconnects).toBe(0);
    expect(connection.group).toBeNull();

    const back = nextEmission(connection.reconnected);
    hello(second, STOPPED);
    await back;
    expect(reconnects).toBe(1);
    expect(connection.group).toEqual(STOPPED);
    expect(server.received.filter(m => m.type === 'execute')).toHaveLength(1);
  });

  it('says the server restarted when the hello after a drop comes from another server process', async () => {
    let restarts: string[] = [];
    connection.serverRestarted.connect((_, reason) => restarts.push(reason));
    const first = await connected(READY);
    first.terminate();
    // the same process again (a dropped network, a proxy restarted): nothing to say
    let socket = await server.nextConnection();
    hello(socket, READY);
    await nextEmission(connection.reconnected);
    expect(restarts).toEqual([]);

    socket.terminate();
    socket = await server.nextConnection();
    const restarted = nextEmission(connection.serverRestarted);
    hello(socket, STOPPED, Date.now(), {
      serverId: 'server-2',
      restartedAfter: 'exited with signal SIGKILL'
    });
    expect(await restarted).toBe('exited with signal SIGKILL');
    expect(connection.group).toEqual(STOPPED);
    restarts = [];
    socket.terminate();
    socket = await server.nextConnection();
    hello(socket, STOPPED, Date.now(), { serverId: 'server-2' });
    await nextEmission(connection.reconnected);
    expect(restarts).toEqual([]);
  });

  it('backs off, doubling the wait up to 10 s, while the server refuses; a hello starts again at 0.5 s', async () => {
    jest.useFakeTimers({ doNotFake: ['Date', 'nextTick', 'setImmediate', 'queueMicrotask'] });
    const first = await connected(READY);
    server.refusing = true;
    const lost = nextEmission(connection.groupChanged);
    first.terminate();
    await lost;

    // Each wait: just short of it opens nothing; at it, one new attempt, which the server ends.
    for (const waitMs of [500, 1000, 2000, 4000, 8000, 10_000, 10_000]) {
      jest.advanceTimersByTime(waitMs - 1);
      const before = attempts;
      jest.advanceTimersByTime(1);
      expect(attempts - before).toBe(1);
      await nextEmission(connection.groupChanged); // the refused attempt's close
    }

    server.refusing = false;
    jest.advanceTimersByTime(10_000);
    const socket = await server.nextConnection();
    hello(socket, READY);
    await nextEmission(connection.reconnected);
    const dropped = nextEmission(connection.groupChanged);
    socket.terminate();
    await dropped;
    const before = attempts;
    jest.advanceTimersByTime(500);
    expect(attempts - before).toBe(1);
  });

  it('stops reconnecting once disposed', async () => {
    jest.useFakeTimers({ doNotFake: ['Date', 'nextTick', 'setImmediate', 'queueMicrotask'] });
    const socket = await connected(READY);
    const lost = nextEmission(connection.groupChanged);
    socket.terminate();
    await lost;
    connection.dispose();
    jest.advanceTimersByTime(60_000);
    expect(attempts).toBe(1);
    expect(connection.isDisposed).toBe(true);
  });

  it('closes its socket when disposed, and opens no other', async () => {
    jest.useFakeTimers({ doNotFake: ['Date', 'nextTick', 'setImmediate', 'queueMicrotask'] });
    const socket = await connected(READY);
    connection.dispose();
    await closed(socket);
    jest.advanceTimersByTime(60_000);
    expect(attempts).toBe(1);
    connection.connect();
    expect(attempts).toBe(1);
  });
});

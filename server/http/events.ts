import { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';

import {
  ClientMessage,
  ExecuteReply,
  ExecutionSummary,
  GroupSummary,
  ServerMessage
} from '../../src/protocol/api';
import { warn } from '../log';
import { Authenticator } from './auth';
import { apiErrorOf } from './groups';
import { isSameOrigin } from './origin';

/** Starts an execution of group `name` from an unchecked request body, as the REST route does. */
export type ExecuteHandler = (name: string, body: unknown) => ExecutionSummary;

/**
 * The one WebSocket per browser tab, after the same checks as REST: server-pushed events, and
 * `execute` requests from the tab.
 */
export class EventHub {
  private wss = new WebSocketServer({ noServer: true });
  /** Each client's TCP socket, corked while messages for it gather (see broadcast). */
  private readonly sockets = new WeakMap<WebSocket, Duplex>();
  /** Output types a client asked not to get (`?omit=status`). */
  private readonly omitted = new WeakMap<WebSocket, ReadonlySet<string>>();
  private readonly corked = new Set<Duplex>();

  constructor(
    private readonly auth: Authenticator,
    private readonly version: string,
    private readonly summary: () => GroupSummary,
    private readonly execute: ExecuteHandler
  ) {}

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!isSameOrigin(req)) {
      return refuse(
        socket,
        403,
        `Origin ${req.headers.origin} does not match host ${req.headers.host}`
      );
    }
    const verdict = await this.auth.check(req);
    if (!verdict.ok) {
      return refuse(socket, verdict.status, verdict.reason);
    }
    const omit = new URL(req.url ?? '/', 'http://localhost').searchParams.get('omit');
    this.wss.handleUpgrade(req, socket, head, ws => {
      this.sockets.set(ws, socket);
      this.omitted.set(ws, new Set(omit ? omit.split(',') : []));
      ws.on('message', data => this.receive(ws, String(data)));
      this.send(ws, { type: 'hello', version: this.version, group: this.summary() });
    });
  }

  /**
   * Push a message to every connected client that wants it, serialised once (and not at all for
   * nobody). An output's content may come as the kernel's own JSON, `rawContent`, relayed as it
   * is. What is sent to a client in one turn of the event loop leaves in one write: a cell makes
   * several small messages, and a write each costs more CPU than the rest of their handling.
   */
  broadcast(message: ServerMessage, rawContent?: Buffer): void {
    const msgType = message.type === 'output' ? message.event.msgType : null;
    let data: string | Buffer | undefined;
    for (const ws of this.wss.clients) {
      if (ws.readyState === WebSocket.OPEN && !(msgType && this.omitted.get(ws)?.has(msgType))) {
        data ??= encode(message, rawContent);
        this.corkForThisTurn(ws);
        ws.send(data, { binary: false });
      }
    }
  }

  private corkForThisTurn(ws: WebSocket): void {
    const socket = this.sockets.get(ws);
    if (!socket || this.corked.has(socket)) {
      return;
    }
    socket.cork();
    this.corked.add(socket);
    setImmediate(() => {
      this.corked.delete(socket);
      socket.uncork();
    });
  }

  close(): void {
    for (const ws of this.wss.clients) {
      ws.terminate();
    }
    this.wss.close();
  }

  private send(ws: WebSocket, message: ServerMessage): void {
    if (ws.readyState === WebSocket.OPEN) {
      this.corkForThisTurn(ws);
      ws.send(JSON.stringify(message));
    }
  }

  /** A client's `execute`: answered to it alone, as `POST .../executions` would answer. */
  private receive(ws: WebSocket, text: string): void {
    let message: Partial<ClientMessage> | null = null;
    try {
      message = JSON.parse(text) as Partial<ClientMessage>;
    } catch {
      // answered below
    }
    const id = typeof message?.id === 'number' ? message.id : -1;
    const fail = (status: number, error: string): ExecuteReply => ({
      type: 'executeReply',
      id,
      status,
      error: { error }
    });
    if (message?.type !== 'execute' || id < 0) {
      return this.send(ws, fail(400, 'expected {"type": "execute", "id": N, "group", "request"}'));
    }
    let reply: ExecuteReply;
    try {
      const execution = this.execute(String(message.group), message.request);
      reply = { type: 'executeReply', id, execution };
    } catch (err) {
      const known = apiErrorOf(err);
      if (!known) {
        warn(`execute over the WebSocket failed: ${(err as Error).stack ?? err}`);
      }
      reply = known
        ? { type: 'executeReply', id, status: known.status, error: known.body }
        : fail(500, (err as Error).message);
    }
    this.send(ws, reply);
  }
}

/**
 * A message's JSON text. With `rawContent`, an output's content is spliced in from the kernel's
 * own JSON rather than serialised again: big stream outputs cost the server half as much CPU.
 */
export function encode(message: ServerMessage, rawContent?: Buffer): string | Buffer {
  if (message.type !== 'output' || !rawContent) {
    return JSON.stringify(message);
  }
  const { content: _content, ...event } = message.event;
  // ends with `"content":null}}`: the raw JSON takes the place of that null
  const text = JSON.stringify({ ...message, event: { ...event, content: null } });
  return Buffer.concat([
    Buffer.from(text.slice(0, -'null}}'.length)),
    rawContent,
    Buffer.from('}}')
  ]);
}

function refuse(socket: Duplex, status: number, reason: string): void {
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : 'Forbidden'}\r\n` +
      'Content-Type: application/json\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

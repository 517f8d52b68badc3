import { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { RawData, WebSocket, WebSocketServer } from 'ws';

import {
  ApiError,
  ClientMessage,
  ExecuteReply,
  ExecutionSummary,
  GroupSummary,
  HelloMessage,
  ServerMessage
} from '../../src/protocol/api';
import { warn } from '../log';
import { Authenticator, AuthVerdict } from './auth';
import { MAX_BODY_BYTES } from './body';
import { apiErrorOf } from './groups';
import { clientMessageSchema } from './schemas';
import { validator } from './validate';

/** Starts an execution of group `name` from an unchecked request body, as the REST route does. */
export type ExecuteHandler = (name: string, body: unknown) => ExecutionSummary;

/** What `hello` says of this server process. */
export type ServerIdentity = Pick<HelloMessage, 'version' | 'serverId' | 'restartedAfter'>;

/** One per browser tab: many more is a client opening sockets in a loop. */
export const MAX_CLIENTS = 64;
/**
 * What may wait unsent for one client. A client that stops reading would otherwise make the server
 * hold everything the group prints for it; past this it is dropped, and catches up from the replay
 * (`executions/:id?since=SEQ`) when it comes back.
 */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const validMessage = validator(clientMessageSchema, {
  type: 'must be "execute"',
  id: 'must be a non-negative integer'
});

interface Client {
  /** The TCP socket, corked while messages for it gather (see broadcast). */
  socket: Duplex;
  /** Output types it asked not to get (`?omit=status`). */
  omitted: ReadonlySet<string>;
  /** Its address, for the log. */
  label: string;
}

/**
 * The one WebSocket per browser tab, after the same checks as REST: server-pushed events, and
 * `execute` requests from the tab.
 */
export class EventHub {
  private _wss = new WebSocketServer({ noServer: true, maxPayload: MAX_BODY_BYTES });
  private readonly _info = new WeakMap<WebSocket, Client>();
  private readonly _corked = new Set<Duplex>();

  constructor(
    private readonly _identity: ServerIdentity,
    private readonly _auth: Authenticator,
    private readonly _summary: () => GroupSummary,
    private readonly _execute: ExecuteHandler
  ) {}

  /** The connected clients. */
  get clients(): ReadonlySet<WebSocket> {
    return this._wss.clients;
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    // Jupyter's checks, Origin included (see auth.ts)
    let verdict: AuthVerdict;
    try {
      verdict = await this._auth.check(req);
    } catch (err) {
      return refuse(socket, 502, `The Jupyter server is unreachable (${(err as Error).message})`);
    }
    if (!verdict.ok) {
      return refuse(socket, verdict.status, verdict.reason);
    }
    // counted when the upgrade completes, synchronously from here: no two can pass at once
    if (this._wss.clients.size >= MAX_CLIENTS) {
      warn(`refused a WebSocket from ${labelOf(req)}: ${MAX_CLIENTS} are open`);
      return refuse(socket, 503, `Too many WebSockets: ${MAX_CLIENTS} are open`);
    }
    const omit = new URL(req.url ?? '/', 'http://localhost').searchParams.get('omit');
    this._wss.handleUpgrade(req, socket, head, ws => {
      const label = labelOf(req);
      this._info.set(ws, { socket, omitted: new Set(omit ? omit.split(',') : []), label });
      // A malformed frame: ws has already sent the close code that says why (1002, 1007,
      // 1009); without this listener the error would end the whole server.
      ws.on('error', err => warn(`WebSocket from ${label} closed: ${err.message}`));
      ws.on('message', (data, isBinary) => this._receive(ws, data, isBinary));
      this._send(ws, {
        type: 'hello',
        ...this._identity,
        group: this._summary(),
        serverTime: Date.now()
      });
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
    for (const ws of this._wss.clients) {
      if (
        ws.readyState === WebSocket.OPEN &&
        !(msgType && this._info.get(ws)?.omitted.has(msgType))
      ) {
        data ??= encode(message, rawContent);
        this._send(ws, data);
      }
    }
  }

  private _corkForThisTurn(ws: WebSocket): void {
    const socket = this._info.get(ws)?.socket;
    if (!socket || this._corked.has(socket)) {
      return;
    }
    socket.cork();
    this._corked.add(socket);
    setImmediate(() => {
      this._corked.delete(socket);
      socket.uncork();
    });
  }

  close(): void {
    for (const ws of this._wss.clients) {
      ws.terminate();
    }
    this._wss.close();
  }

  /** Send to one client, or drop it if it has stopped reading (see MAX_BUFFERED_BYTES). */
  private _send(ws: WebSocket, data: ServerMessage | string | Buffer): void {
    if (ws.readyState !== WebSocket.OPEN) {
      return;
    }
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      warn(
        `dropped the WebSocket from ${this._info.get(ws)?.label}: ${ws.bufferedAmount} bytes ` +
          'sent to it are still unread'
      );
      ws.terminate();
      return;
    }
    this._corkForThisTurn(ws);
    ws.send(Buffer.isBuffer(data) || typeof data === 'string' ? data : JSON.stringify(data), {
      binary: false
    });
  }

  /** A client's `execute`: answered to it alone, as `POST .../executions` would answer. */
  private _receive(ws: WebSocket, data: RawData, isBinary: boolean): void {
    let parsed: unknown;
    try {
      parsed = isBinary ? undefined : JSON.parse(String(data));
    } catch {
      // answered below
    }
    const given = (parsed as { id?: unknown } | undefined)?.id;
    const id = Number.isInteger(given) && (given as number) >= 0 ? (given as number) : -1;
    const fail = (status: number, error: ApiError): ExecuteReply => ({
      type: 'executeReply',
      id,
      status,
      error
    });
    if (parsed === undefined) {
      return this._send(
        ws,
        fail(400, { error: 'a message must be a JSON object in a text frame' })
      );
    }
    let reply: ExecuteReply;
    try {
      const message: ClientMessage = validMessage(parsed);
      const execution = this._execute(message.group, message.request);
      reply = { type: 'executeReply', id, execution };
    } catch (err) {
      const known = apiErrorOf(err);
      if (!known) {
        warn(`execute over the WebSocket failed: ${(err as Error).stack ?? err}`);
      }
      reply = known
        ? { type: 'executeReply', id, status: known.status, error: known.body }
        : fail(500, { error: (err as Error).message });
    }
    this._send(ws, reply);
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

function labelOf(req: IncomingMessage): string {
  return `${req.socket.remoteAddress}:${req.socket.remotePort}`;
}

const REASONS: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  502: 'Bad Gateway',
  503: 'Service Unavailable'
};

function refuse(socket: Duplex, status: 401 | 403 | 502 | 503, reason: string): void {
  const body = JSON.stringify({ error: reason });
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
      'Content-Type: application/json\r\nConnection: close\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

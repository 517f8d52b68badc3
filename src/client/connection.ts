import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ClientMessage,
  ExecuteReply,
  ExecuteRequest,
  ExecutionSummary,
  GroupSummary,
  OutputEvent,
  ServerMessage,
  WS_PATH
} from '../protocol/api';
import { ApiRequestError } from './api';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/**
 * The tab's single WebSocket to the jupyter-ddp server. `group` is null while no server answers
 * (for instance in a JupyterLab started without `jupyter-ddp lab`); it reconnects with backoff and
 * signals `reconnected` so views can fetch what they missed.
 */
export class DdpConnection implements IDisposable {
  private socket: WebSocket | null = null;
  private retryMs = RECONNECT_MIN_MS;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private everConnected = false;
  private _group: GroupSummary | null = null;
  private _groupChanged = new Signal<this, GroupSummary | null>(this);
  private _output = new Signal<this, OutputEvent>(this);
  private _execution = new Signal<this, ExecutionSummary>(this);
  private _reconnected = new Signal<this, void>(this);
  private _isDisposed = false;
  /** The server's clock minus ours, from its hello (0 until then). */
  private clockOffset = 0;
  private nextRequestId = 0;
  private readonly pending = new Map<
    number,
    { resolve: (execution: ExecutionSummary) => void; reject: (err: Error) => void }
  >();

  constructor(
    private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  get group(): GroupSummary | null {
    return this._group;
  }

  /** The group's state changed (null: no server). */
  get groupChanged(): ISignal<this, GroupSummary | null> {
    return this._groupChanged;
  }

  /** An output or status message of some rank. */
  get output(): ISignal<this, OutputEvent> {
    return this._output;
  }

  /** An execution started or finished. */
  get execution(): ISignal<this, ExecutionSummary> {
    return this._execution;
  }

  /** The socket is back after a drop: events in between were missed. */
  get reconnected(): ISignal<this, void> {
    return this._reconnected;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Now on the server's clock (ms since the epoch), to compare with the server's times
   * (`rankEndedAt`, `interruptedAt`) whatever this machine's clock says.
   */
  serverNow(): number {
    return Date.now() + this.clockOffset;
  }

  /** Whether the socket is open, so that `execute` can be sent on it. */
  get isOpen(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /**
   * Start an execution of `group` over the socket (see `isOpen`), as `POST .../executions` would:
   * no HTTP request per cell, and the reply comes before the execution's first output.
   */
  execute(group: string, request: ExecuteRequest): Promise<ExecutionSummary> {
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error('not connected to the jupyter-ddp server'));
    }
    const id = this.nextRequestId++;
    const message: ClientMessage = { type: 'execute', id, group, request };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      socket.send(JSON.stringify(message));
    });
  }

  connect(): void {
    if (this._isDisposed || this.socket) {
      return;
    }
    // Each rank's busy/idle status would be a dozen messages a cell that no view shows.
    let url = `${URLExt.join(this.settings.wsUrl, WS_PATH)}?omit=status`;
    if (this.settings.appendToken && this.settings.token) {
      url += `&token=${encodeURIComponent(this.settings.token)}`;
    }
    const socket = new this.settings.WebSocket(url);
    this.socket = socket;
    socket.onmessage = event => this.onMessage(JSON.parse(event.data as string) as ServerMessage);
    socket.onclose = () => {
      this.socket = null;
      // Whether they started is unknown: a retry could run a cell twice, so none is made.
      const lost = new Error('the connection to the jupyter-ddp server was lost');
      for (const { reject } of this.pending.values()) {
        reject(lost);
      }
      this.pending.clear();
      this.setGroup(null);
      this.scheduleReconnect();
    };
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearTimeout(this.retryTimer);
    this.socket?.close();
    Signal.clearData(this);
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'hello':
        this.retryMs = RECONNECT_MIN_MS;
        this.clockOffset = message.serverTime - Date.now();
        this.setGroup(message.group);
        if (this.everConnected) {
          this._reconnected.emit();
        }
        this.everConnected = true;
        break;
      case 'group':
        this.setGroup(message.group);
        break;
      case 'output':
        this._output.emit(message.event);
        break;
      case 'execution':
        this._execution.emit(message.execution);
        break;
      case 'executeReply':
        this.settle(message);
        break;
    }
  }

  private settle(reply: ExecuteReply): void {
    const waiter = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    if ('execution' in reply) {
      waiter?.resolve(reply.execution);
    } else {
      waiter?.reject(new ApiRequestError(reply.error.error, reply.status));
    }
  }

  private setGroup(group: GroupSummary | null): void {
    this._group = group;
    this._groupChanged.emit(group);
  }

  private scheduleReconnect(): void {
    if (this._isDisposed) {
      return;
    }
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
  }
}

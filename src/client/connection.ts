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
  private _socket: WebSocket | null = null;
  private _retryMs = RECONNECT_MIN_MS;
  private _retryTimer: ReturnType<typeof setTimeout> | undefined;
  private _everConnected = false;
  private _group: GroupSummary | null = null;
  private _groupChanged = new Signal<this, GroupSummary | null>(this);
  private _output = new Signal<this, OutputEvent>(this);
  private _execution = new Signal<this, ExecutionSummary>(this);
  private _reconnected = new Signal<this, void>(this);
  private _serverRestarted = new Signal<this, string>(this);
  /** The serverId of the last hello: another one means another server process. */
  private _serverId: string | null = null;
  private _isDisposed = false;
  /** The server's clock minus ours, from its hello (0 until then). */
  private _clockOffset = 0;
  private _nextRequestId = 0;
  private readonly _pending = new Map<
    number,
    { resolve: (execution: ExecutionSummary) => void; reject: (err: Error) => void }
  >();

  constructor(
    private readonly _settings: ServerConnection.ISettings = ServerConnection.makeSettings()
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

  /**
   * The server process is another one than before the drop: its manager (the Jupyter server
   * extension) started it again after it ended, with every group. The reason says how it ended.
   */
  get serverRestarted(): ISignal<this, string> {
    return this._serverRestarted;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Now on the server's clock (ms since the epoch), to compare with the server's times
   * (`rankEndedAt`, `interruptedAt`) whatever this machine's clock says.
   */
  serverNow(): number {
    return Date.now() + this._clockOffset;
  }

  /** Whether the socket is open, so that `execute` can be sent on it. */
  get isOpen(): boolean {
    return this._socket?.readyState === WebSocket.OPEN;
  }

  /**
   * Start an execution of `group` over the socket (see `isOpen`), as `POST .../executions` would:
   * no HTTP request per cell, and the reply comes before the execution's first output.
   */
  execute(group: string, request: ExecuteRequest): Promise<ExecutionSummary> {
    const socket = this._socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error('not connected to the jupyter-ddp server'));
    }
    const id = this._nextRequestId++;
    const message: ClientMessage = { type: 'execute', id, group, request };
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject });
      socket.send(JSON.stringify(message));
    });
  }

  connect(): void {
    if (this._isDisposed || this._socket) {
      return;
    }
    // Each rank's busy/idle status would be a dozen messages a cell that no view shows.
    let url = `${URLExt.join(this._settings.wsUrl, WS_PATH)}?omit=status`;
    if (this._settings.appendToken && this._settings.token) {
      url += `&token=${encodeURIComponent(this._settings.token)}`;
    }
    const socket = new this._settings.WebSocket(url);
    this._socket = socket;
    socket.onmessage = event => this._onMessage(JSON.parse(event.data as string) as ServerMessage);
    socket.onclose = () => {
      this._socket = null;
      // Whether they started is unknown: a retry could run a cell twice, so none is made.
      const lost = new Error('the connection to the jupyter-ddp server was lost');
      for (const { reject } of this._pending.values()) {
        reject(lost);
      }
      this._pending.clear();
      this._setGroup(null);
      this._scheduleReconnect();
    };
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearTimeout(this._retryTimer);
    this._socket?.close();
    Signal.clearData(this);
  }

  private _onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'hello':
        this._retryMs = RECONNECT_MIN_MS;
        this._clockOffset = message.serverTime - Date.now();
        this._setGroup(message.group);
        if (this._everConnected) {
          this._reconnected.emit();
        }
        if (this._serverId !== null && message.serverId !== this._serverId) {
          this._serverRestarted.emit(message.restartedAfter ?? '');
        }
        this._serverId = message.serverId;
        this._everConnected = true;
        break;
      case 'group':
        this._setGroup(message.group);
        break;
      case 'output':
        this._output.emit(message.event);
        break;
      case 'execution':
        this._execution.emit(message.execution);
        break;
      case 'executeReply':
        this._settle(message);
        break;
    }
  }

  private _settle(reply: ExecuteReply): void {
    const waiter = this._pending.get(reply.id);
    this._pending.delete(reply.id);
    if ('execution' in reply) {
      waiter?.resolve(reply.execution);
    } else {
      waiter?.reject(new ApiRequestError(reply.error.error, reply.status));
    }
  }

  private _setGroup(group: GroupSummary | null): void {
    this._group = group;
    this._groupChanged.emit(group);
  }

  private _scheduleReconnect(): void {
    if (this._isDisposed) {
      return;
    }
    this._retryTimer = setTimeout(() => this.connect(), this._retryMs);
    this._retryMs = Math.min(this._retryMs * 2, RECONNECT_MAX_MS);
  }
}

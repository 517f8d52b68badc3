import * as zmq from 'zeromq';

import { warn } from '../log';
import { ConnectionInfo, zmqUrl } from './connection';
import { Channel, JupyterMessage, makeMessage, MessageHeader } from './message';
import { deserialize, serialize, SignatureError } from './wire';

export type MessageListener = (msg: JupyterMessage, channel: Channel) => void;

/**
 * The client side of a kernel's five ZeroMQ channels. Every incoming message is signature-checked;
 * bad ones are dropped and logged. Sends on one socket are serialised, because a zeromq socket
 * allows one pending send at a time.
 */
export class KernelChannels {
  readonly session: string;
  private readonly _key: Buffer;
  private readonly _sockets: Record<Channel, zmq.Dealer | zmq.Subscriber>;
  private readonly _heartbeat: zmq.Request;
  private readonly _sendQueues = new Map<Channel, Promise<void>>();
  private _closed = false;
  private _pinging: Promise<boolean> | null = null;

  constructor(
    info: ConnectionInfo,
    session: string,
    private readonly _onMessage: MessageListener,
    private readonly _label: string
  ) {
    this.session = session;
    this._key = Buffer.from(info.key, 'utf8');
    const iopub = new zmq.Subscriber({ linger: 0 });
    iopub.subscribe();
    this._sockets = {
      shell: new zmq.Dealer({ linger: 0 }),
      control: new zmq.Dealer({ linger: 0 }),
      stdin: new zmq.Dealer({ linger: 0 }),
      iopub
    };
    const ports: Record<Channel, number> = {
      shell: info.shell_port,
      control: info.control_port,
      stdin: info.stdin_port,
      iopub: info.iopub_port
    };
    for (const channel of Object.keys(this._sockets) as Channel[]) {
      this._sockets[channel].connect(zmqUrl(info, ports[channel]));
      void this._receiveLoop(channel);
    }
    // Relaxed and correlated: after a ping that got no echo (a stopped process), the next ping
    // may be sent, and a late echo of the old one is not taken for the new one's.
    this._heartbeat = new zmq.Request({
      linger: 0,
      receiveTimeout: 1000,
      sendTimeout: 1000,
      relaxed: true,
      correlate: true
    });
    this._heartbeat.connect(zmqUrl(info, info.hb_port));
  }

  /** Send a new message; returns its header so replies can be matched by msg_id. */
  send(
    channel: Exclude<Channel, 'iopub'>,
    msgType: string,
    content: unknown,
    parent?: MessageHeader,
    metadata?: Record<string, unknown>
  ): MessageHeader {
    const msg = makeMessage(msgType, content, this.session, parent, metadata);
    const socket = this._sockets[channel] as zmq.Dealer;
    const previous = this._sendQueues.get(channel) ?? Promise.resolve();
    const next = previous
      .then(() => (this._closed ? undefined : socket.send(serialize(msg, this._key))))
      .catch(err => warn(`${this._label}: send on ${channel} failed: ${(err as Error).message}`));
    this._sendQueues.set(channel, next);
    return msg.header;
  }

  /** One heartbeat round trip; false when the kernel does not echo within a second. */
  async ping(): Promise<boolean> {
    if (this._pinging) {
      return this._pinging; // one round trip at a time on a REQ socket
    }
    this._pinging = this._pingOnce().finally(() => (this._pinging = null));
    return this._pinging;
  }

  private async _pingOnce(): Promise<boolean> {
    try {
      await this._heartbeat.send('ping');
      await this._heartbeat.receive();
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this._closed = true;
    for (const socket of Object.values(this._sockets)) {
      socket.close();
    }
    this._heartbeat.close();
  }

  private async _receiveLoop(channel: Channel): Promise<void> {
    const socket = this._sockets[channel];
    try {
      for await (const frames of socket) {
        let msg: JupyterMessage;
        try {
          msg = deserialize(frames, this._key);
        } catch (err) {
          // Unsigned, badly signed, or signed but not JSON: drop it, keep the channel.
          const reason = err instanceof SignatureError ? err.message : `unreadable (${err})`;
          warn(`${this._label}: dropped a message on ${channel}: ${reason}`);
          continue;
        }
        try {
          this._onMessage(msg, channel);
        } catch (err) {
          // One message a listener chokes on must not end the channel for every later one.
          warn(`${this._label}: ${msg.header.msg_type} on ${channel} failed: ${err}`);
        }
      }
    } catch (err) {
      if (!this._closed) {
        warn(`${this._label}: ${channel} channel failed: ${(err as Error).message}`);
      }
    }
  }
}

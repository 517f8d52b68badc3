import { randomBytes } from 'node:crypto';
import * as net from 'node:net';

/** A WebSocket client written by hand over a real TCP socket, to send what ws never would. */
export interface RawWs {
  socket: net.Socket;
  /** The server's close frame's code, once it comes (null: the socket closed without one). */
  closeCode: Promise<number | null>;
}

/** Upgrade `path` on `host` ("127.0.0.1:PORT"); resolves after the 101, the socket flowing. */
export function rawUpgrade(host: string, path: string): Promise<RawWs> {
  const [hostname, port] = host.split(':');
  const socket = net.connect(Number(port), hostname);
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n'
  );
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let resolveClose: (code: number | null) => void = () => undefined;
    const closeCode = new Promise<number | null>(r => (resolveClose = r));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      resolveClose(null);
      reject(new Error('closed before the upgrade'));
    });
    socket.on('data', chunk => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) {
          return;
        }
        const head = buffered.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`not upgraded: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        buffered = buffered.subarray(end + 4);
        resolve({ socket, closeCode });
      }
      // server frames: unmasked; skip every one until the close frame
      for (;;) {
        const frame = parseFrame(buffered);
        if (!frame) {
          return;
        }
        buffered = buffered.subarray(frame.length);
        if (frame.opcode === 8) {
          resolveClose(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null);
        }
      }
    });
  });
}

function parseFrame(data: Buffer): { opcode: number; payload: Buffer; length: number } | null {
  if (data.length < 2) {
    return null;
  }
  let len = data[1] & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (data.length < 4) {
      return null;
    }
    len = data.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (data.length < 10) {
      return null;
    }
    len = Number(data.readBigUInt64BE(2));
    offset = 10;
  }
  if (data.length < offset + len) {
    return null;
  }
  return {
    opcode: data[0] & 0x0f,
    payload: data.subarray(offset, offset + len),
    length: offset + len
  };
}

export interface FrameOptions {
  opcode: number;
  payload?: Buffer;
  fin?: boolean;
  /** The three RSV bits, as a number 0-7. */
  rsv?: number;
  /** Clients must mask; false sends the payload bare. */
  masked?: boolean;
  /** The length to claim in the header (default the payload's). */
  claimedLength?: number;
}

/** One client frame's bytes. */
export function frame({
  opcode,
  payload = Buffer.alloc(0),
  fin = true,
  rsv = 0,
  masked = true,
  claimedLength = payload.length
}: FrameOptions): Buffer {
  const first = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (claimedLength < 126) {
    header = Buffer.from([first, maskBit | claimedLength]);
  } else if (claimedLength < 65536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = maskBit | 126;
    header.writeUInt16BE(claimedLength, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(BigInt(claimedLength), 2);
  }
  if (!masked) {
    return Buffer.concat([header, payload]);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([header, mask, body]);
}

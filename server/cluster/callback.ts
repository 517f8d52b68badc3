import { execFile } from 'node:child_process';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as tls from 'node:tls';
import { createInterface } from 'node:readline';

/**
 * The channel each rank on another host opens back to this server: TLS to a certificate made
 * for this server's run (the rank trusts exactly it, given through srun's environment with a
 * one-time secret per rank), so that the kernel keys and ports that travel on it are read by
 * nobody else. One JSON object per line each way. The connection stays open while the rank
 * lives: its end is the rank's end.
 */

/** What a rank says first: its one-time secret and where it runs. */
export interface RankHello {
  secret: string;
  /** Slurm's task number (SLURM_PROCID): the rank. */
  task: number;
  host: string;
}

/** One rank's open channel. */
export interface RankLine {
  readonly hello: RankHello;
  /** The address the rank connected from (its node's, as this server sees it). */
  readonly address: string;
  send(message: object): void;
  /** Each message the rank sends after its hello. */
  onMessage(listener: (message: Record<string, unknown>) => void): void;
  /** Resolves when the channel ends (the rank, its node or the network went away). */
  readonly closed: Promise<void>;
  close(): void;
}

/** Longest line a rank sends (a message, not a transfer); a hello is far shorter. */
const MAX_LINE_BYTES = 1024 * 1024;
const MAX_HELLO_BYTES = 4096;
/** Connections at once: a group's ranks, and room for those that are refused. */
const MAX_CONNECTIONS = 1024;
/** A connection that has not said hello by then is dropped. */
const HELLO_TIMEOUT_MS = 30_000;

/** A self-signed certificate and its key for this run, made by openssl (PEM). */
export function makeCertificate(): Promise<{ cert: string; key: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=jupyter-ddp',
        '-days',
        '30',
        '-keyout',
        '-',
        '-out',
        '-'
      ],
      { encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`openssl could not make the rank channel's certificate: ${stderr || err}`)
          );
          return;
        }
        const key = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/.exec(stdout);
        const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(stdout);
        if (!key || !cert) {
          reject(new Error('openssl gave no certificate and key'));
          return;
        }
        resolve({ cert: cert[0], key: key[0] });
      }
    );
  });
}

/**
 * This machine's address on the way to `remote`: the one to listen on for ranks there, rather
 * than on every interface. (A UDP "connect" sends nothing; it only asks the routing table.)
 */
export function localAddressToward(remote: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const probe = dgram.createSocket(remote.includes(':') ? 'udp6' : 'udp4');
    probe.once('error', err => {
      probe.close();
      reject(new Error(`no route from this server to ${remote}: ${err.message}`));
    });
    probe.connect(9, remote, () => {
      const { address } = probe.address();
      probe.close();
      resolve(address);
    });
  });
}

/** Where ranks call back, and what each may say to be let in (once). */
export class CallbackServer {
  private readonly _secrets = new Map<string, number>();
  private _onRank: (line: RankLine) => void = () => undefined;

  private constructor(
    private readonly _server: tls.Server,
    readonly address: string,
    readonly port: number,
    /** The certificate ranks trust (public). */
    readonly cert: string
  ) {
    _server.on('secureConnection', socket => this._accept(socket));
    // a client that fails the handshake (not TLS, another certificate) is only its own problem
    _server.on('tlsClientError', () => undefined);
  }

  static async listen(address: string): Promise<CallbackServer> {
    const { cert, key } = await makeCertificate();
    const server = tls.createServer({ cert, key, minVersion: 'TLSv1.2' });
    server.maxConnections = MAX_CONNECTIONS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, address, () => resolve());
    });
    const { port } = server.address() as { port: number };
    return new CallbackServer(server, address, port, cert);
  }

  /** A secret that lets one rank (`task`) in, once. */
  secretFor(task: number): string {
    const secret = randomBytes(32).toString('base64url');
    this._secrets.set(secret, task);
    return secret;
  }

  /** Each rank that connected with a valid secret. */
  onRank(listener: (line: RankLine) => void): void {
    this._onRank = listener;
  }

  close(): Promise<void> {
    this._secrets.clear();
    return new Promise(resolve => this._server.close(() => resolve()));
  }

  private _accept(socket: tls.TLSSocket): void {
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 1000);
    const refuse = (why: string) => {
      socket.end(`${JSON.stringify({ error: why })}\n`);
      setTimeout(() => socket.destroy(), 1000).unref(); // it may not close its side
    };
    const timer = setTimeout(() => refuse('no hello'), HELLO_TIMEOUT_MS);
    const listeners: ((message: Record<string, unknown>) => void)[] = [];
    let line: RankLine | null = null;
    const closed = new Promise<void>(resolve => socket.once('close', () => resolve()));
    closed.then(() => clearTimeout(timer)).catch(() => undefined);
    const lines = createInterface({ input: socket, crlfDelay: Infinity });
    // a reset (the rank killed, its node gone) is its end: its close follows
    socket.on('error', () => undefined);
    lines.on('error', () => undefined);
    // readline keeps what has no newline yet: a client sending one endless line is dropped
    let sinceNewline = 0;
    socket.on('data', (chunk: Buffer) => {
      const last = chunk.lastIndexOf(10);
      sinceNewline = last < 0 ? sinceNewline + chunk.length : chunk.length - last - 1;
      if (sinceNewline > (line ? MAX_LINE_BYTES : MAX_HELLO_BYTES)) {
        socket.destroy();
      }
    });
    lines.on('line', text => {
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        refuse('not JSON');
        return;
      }
      if (line) {
        listeners.forEach(l => l(message));
        return;
      }
      clearTimeout(timer);
      const hello = message as Partial<RankHello>;
      const task = typeof hello.secret === 'string' ? this._take(hello.secret) : undefined;
      if (task === undefined || task !== hello.task || typeof hello.host !== 'string') {
        refuse('refused: not a rank of this server (wrong or used secret)');
        return;
      }
      line = {
        hello: hello as RankHello,
        address: socket.remoteAddress ?? '',
        send: m => socket.write(`${JSON.stringify(m)}\n`),
        onMessage: l => listeners.push(l),
        closed,
        close: () => socket.end()
      };
      this._onRank(line);
    });
  }

  /** The task a secret lets in, which it then no longer does. */
  private _take(secret: string): number | undefined {
    for (const [known, task] of this._secrets) {
      const a = Buffer.from(known);
      const b = Buffer.from(secret);
      if (a.length === b.length && timingSafeEqual(a, b)) {
        this._secrets.delete(known);
        return task;
      }
    }
    return undefined;
  }
}

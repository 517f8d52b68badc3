import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { IncomingMessage } from 'node:http';

/**
 * `/ddp/` accepts exactly the credentials Jupyter accepts: the token (query or Authorization
 * header) or Jupyter's login cookie. Rather than re-implement Jupyter's checks, each distinct set of
 * credentials is shown once to the Jupyter server's own `/api/status`, and its verdict is cached
 * briefly.
 */
export type AuthVerdict = { ok: true } | { ok: false; status: 401 | 403; reason: string };

export interface Authenticator {
  check(req: IncomingMessage): Promise<AuthVerdict>;
}

interface Credentials {
  host: string;
  cookie: string;
  authorization: string;
  token: string;
}

const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 512;

export class JupyterAuthenticator implements Authenticator {
  private cache = new Map<string, { verdict: AuthVerdict; expires: number }>();

  constructor(private readonly jupyterUrl: string) {}

  async check(req: IncomingMessage): Promise<AuthVerdict> {
    const creds = credentialsOf(req);
    if (!creds.cookie && !creds.authorization && !creds.token) {
      return {
        ok: false,
        status: 401,
        reason: 'Authentication required: pass the Jupyter token or log in to Jupyter'
      };
    }
    const key = createHash('sha256').update(JSON.stringify(creds)).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.expires > Date.now()) {
      return hit.verdict;
    }
    const verdict = await this.askJupyter(creds);
    if (this.cache.size >= CACHE_MAX) {
      this.cache.clear();
    }
    this.cache.set(key, { verdict, expires: Date.now() + CACHE_TTL_MS });
    return verdict;
  }

  private async askJupyter(creds: Credentials): Promise<AuthVerdict> {
    const url = new URL('/api/status', this.jupyterUrl);
    if (creds.token) {
      url.searchParams.set('token', creds.token);
    }
    // Jupyter names its login cookie after the Host, so it must see the Host the browser used.
    const headers: Record<string, string> = { host: creds.host };
    if (creds.cookie) {
      headers.cookie = creds.cookie;
    }
    if (creds.authorization) {
      headers.authorization = creds.authorization;
    }
    const status = await statusOf(url, headers);
    if (status === 200) {
      return { ok: true };
    }
    return { ok: false, status: 403, reason: 'The Jupyter server rejected these credentials' };
  }
}

/** GET `url` and return the status code (node:http, because fetch will not send our Host). */
function statusOf(url: URL, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, res => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

function credentialsOf(req: IncomingMessage): Credentials {
  const url = new URL(req.url ?? '/', 'http://localhost');
  return {
    host: req.headers.host ?? '',
    cookie: req.headers.cookie ?? '',
    authorization: req.headers.authorization ?? '',
    token: url.searchParams.get('token') ?? ''
  };
}

/** True when the request authenticates with the token rather than with the login cookie alone. */
export function usesToken(req: IncomingMessage): boolean {
  const creds = credentialsOf(req);
  return Boolean(creds.token || /^token\s/i.test(creds.authorization));
}

/**
 * Cookie-authenticated writes must carry the `_xsrf` cookie's value in `X-XSRFToken`, as Jupyter
 * requires; a cross-site page can make the browser send the cookie but cannot read it.
 */
export function passesXsrf(req: IncomingMessage): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET') || usesToken(req)) {
    return true;
  }
  const cookie = parseCookies(req.headers.cookie ?? '')._xsrf;
  const header = req.headers['x-xsrftoken'];
  return Boolean(cookie) && header === cookie;
}

function parseCookies(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) {
      out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
    }
  }
  return out;
}

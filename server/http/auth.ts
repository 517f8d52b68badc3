import { createHash } from 'node:crypto';
import * as http from 'node:http';
import { IncomingMessage } from 'node:http';

/**
 * `/ddp/` accepts exactly the credentials Jupyter accepts: the token (query or Authorization
 * header) or Jupyter's login cookie, under Jupyter's own Origin and Host rules. Rather than
 * re-implement Jupyter's checks, each distinct set of credentials is shown to the Jupyter server's
 * own `/api/status`, and its verdict is cached briefly. `by` says what authenticated the request,
 * as Jupyter decides it: a valid token wins; otherwise the cookie, whatever token came with it.
 */
export type AuthVerdict =
  { ok: true; by: 'token' | 'cookie' } | { ok: false; status: 401 | 403; reason: string };

export interface Authenticator {
  check(req: IncomingMessage): Promise<AuthVerdict>;
}

interface Credentials {
  host: string;
  /** Origin (or the old Sec-WebSocket-Origin), which Jupyter checks for cookie-authenticated requests. */
  origin: string;
  cookie: string;
  /** `?token=`, else the `Authorization: token ...` header, as Jupyter reads them. */
  token: string;
}

const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 512;

export class JupyterAuthenticator implements Authenticator {
  private _cache = new Map<string, { verdict: AuthVerdict; expires: number }>();

  constructor(private readonly _jupyterUrl: string) {}

  async check(req: IncomingMessage): Promise<AuthVerdict> {
    const creds = credentialsOf(req);
    if (!creds.cookie && !creds.token) {
      return {
        ok: false,
        status: 401,
        reason: 'Authentication required: pass the Jupyter token or log in to Jupyter'
      };
    }
    const key = createHash('sha256').update(JSON.stringify(creds)).digest('hex');
    const hit = this._cache.get(key);
    if (hit && hit.expires > Date.now()) {
      return hit.verdict;
    }
    const verdict = await this._askJupyter(creds);
    if (this._cache.size >= CACHE_MAX) {
      this._cache.clear();
    }
    this._cache.set(key, { verdict, expires: Date.now() + CACHE_TTL_MS });
    return verdict;
  }

  /**
   * The token alone first: only if Jupyter accepts it is the request token-authenticated (no
   * XSRF, no Origin check). A wrong token beside a valid cookie is a cookie-authenticated request,
   * as in Jupyter, so a cross-site form cannot skip the XSRF check by adding `?token=x`.
   */
  private async _askJupyter(creds: Credentials): Promise<AuthVerdict> {
    // Jupyter names its login cookie after the Host, so it must see the Host the browser used;
    // it also refuses a Host that is not loopback unless remote access is allowed (DNS rebinding).
    if (creds.token && (await this._status(creds.host, { token: creds.token })) === 200) {
      return { ok: true, by: 'token' };
    }
    if (creds.cookie) {
      const status = await this._status(creds.host, { cookie: creds.cookie, origin: creds.origin });
      if (status === 200) {
        return { ok: true, by: 'cookie' };
      }
      if (status === 404) {
        // Jupyter's API handlers answer a refused Origin with 404
        return {
          ok: false,
          status: 403,
          reason: `Origin ${creds.origin} does not match host ${creds.host}`
        };
      }
    }
    return { ok: false, status: 403, reason: 'The Jupyter server rejected these credentials' };
  }

  private _status(
    host: string,
    { token, cookie, origin }: { token?: string; cookie?: string; origin?: string }
  ): Promise<number> {
    const url = new URL('/api/status', this._jupyterUrl);
    const headers: Record<string, string> = { host };
    if (token) {
      url.searchParams.set('token', token);
    }
    if (cookie) {
      headers.cookie = cookie;
    }
    if (origin) {
      headers.origin = origin;
    }
    return statusOf(url, headers);
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
  const header = /^token\s+(.+)$/i.exec(req.headers.authorization ?? '');
  const origin = req.headers.origin ?? req.headers['sec-websocket-origin'];
  return {
    host: req.headers.host ?? '',
    origin: typeof origin === 'string' ? origin : '',
    cookie: req.headers.cookie ?? '',
    token: url.searchParams.get('token') || (header?.[1] ?? '')
  };
}

/**
 * Cookie-authenticated writes must carry the `_xsrf` cookie's value in `X-XSRFToken`, as Jupyter
 * requires; a cross-site page can make the browser send the cookie but cannot read it.
 */
export function passesXsrf(req: IncomingMessage, by: 'token' | 'cookie'): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(req.method ?? 'GET') || by === 'token') {
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
      try {
        out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        // a malformed cookie is no cookie
      }
    }
  }
  return out;
}

import { timingSafeEqual } from 'node:crypto';
import { IncomingMessage } from 'node:http';

import { Authenticator, AuthVerdict } from './auth';

/** The header the managing Jupyter server extension (jupyterlab_ddp) adds to what it forwards. */
export const PROXY_SECRET_HEADER = 'x-jupyter-ddp-secret';

/**
 * When jupyterlab_ddp runs this server as a child of the Jupyter server, that server has already
 * applied Jupyter's own authentication, authorization, Origin and XSRF checks to every request it
 * forwards, and marks it with the secret the two alone share (given in the child's environment).
 * Anything else reaching the private port is refused; the notebook kernels' key is checked apart
 * (kernel-api.ts), as in every mode.
 */
export class ProxySecretAuthenticator implements Authenticator {
  private readonly _expected: Buffer;

  constructor(secret: string) {
    if (secret.length < 32) {
      throw new Error('the proxy secret must be at least 32 characters');
    }
    this._expected = Buffer.from(secret);
  }

  async check(req: IncomingMessage): Promise<AuthVerdict> {
    const given = Buffer.from(String(req.headers[PROXY_SECRET_HEADER] ?? ''));
    if (given.length === this._expected.length && timingSafeEqual(given, this._expected)) {
      // 'token': the Jupyter server has done the XSRF check of cookie-authenticated writes
      return { ok: true, by: 'token' };
    }
    return {
      ok: false,
      status: 401,
      reason: 'Authentication required: reach /ddp/ through the Jupyter server'
    };
  }
}

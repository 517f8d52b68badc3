import { IncomingMessage } from 'node:http';

/**
 * WebSocket Origin check, as Jupyter does it: a browser page may only open our socket from the
 * same origin it was served from. Requests without Origin come from non-browser clients, which
 * still have to authenticate.
 */
export function isSameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) {
    return true;
  }
  try {
    return new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

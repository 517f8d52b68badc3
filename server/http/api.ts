import express, { NextFunction, Request, Response, Router } from 'express';

import { ApiError, GroupSummary, HealthResponse } from '../../src/protocol/api';
import { Authenticator, passesXsrf } from './auth';

/** What the API needs to know about the DDP group. */
export interface GroupStatusSource {
  summary(): GroupSummary;
}

export interface ApiOptions {
  auth: Authenticator;
  version: string;
  group: GroupStatusSource;
}

/** The `/ddp/api` REST routes; every one of them requires Jupyter's credentials. */
export function apiRouter({ auth, version, group }: ApiOptions): Router {
  const router = Router();
  router.use(requireAuth(auth));
  router.use(express.json({ limit: '1mb' }));

  router.get('/health', (_req, res: Response<HealthResponse>) => {
    res.json({ status: 'ok', version, group: group.summary() });
  });

  router.use((req, res: Response<ApiError>) => {
    res.status(404).json({ error: `No such API route: ${req.method} ${req.baseUrl}${req.path}` });
  });
  router.use(jsonErrors);
  return router;
}

function requireAuth(auth: Authenticator) {
  return async (req: Request, res: Response<ApiError>, next: NextFunction) => {
    const verdict = await auth.check(req);
    if (!verdict.ok) {
      res.status(verdict.status).json({ error: verdict.reason });
    } else if (!passesXsrf(req)) {
      res.status(403).json({ error: 'XSRF check failed: send the _xsrf cookie value in X-XSRFToken' });
    } else {
      next();
    }
  };
}

/** Malformed JSON bodies and unexpected failures become JSON errors, never HTML pages. */
function jsonErrors(err: unknown, _req: Request, res: Response<ApiError>, _next: NextFunction): void {
  const status = (err as { status?: number }).status ?? 500;
  const message = err instanceof Error ? err.message : String(err);
  res.status(status).json({ error: status === 400 ? `Malformed request body: ${message}` : message });
}

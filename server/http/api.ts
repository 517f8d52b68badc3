import { NextFunction, Request, Response, Router } from 'express';

import { ApiError, HealthResponse, KernelClientInfo } from '../../src/protocol/api';
import { Groups } from '../group/registry';
import { Authenticator, passesXsrf } from './auth';
import { jsonBody } from './body';
import { groupsRouter } from './groups';
import { kernelClientInfo, kernelKeyAuth } from './kernel-api';

export interface ApiOptions {
  auth: Authenticator;
  version: string;
  groups: Groups;
  /** What notebook kernels authenticate with (see kernel-api.ts). */
  kernelKey: string;
  /** As Jupyter's allow_remote_access: whether the kernel key is taken under a non-loopback Host. */
  allowRemoteAccess: boolean;
}

/** The `/ddp/api` REST routes; every one of them requires Jupyter's credentials. */
export function apiRouter(options: ApiOptions): Router {
  const { auth, version, groups, kernelKey } = options;
  const router = Router();
  const scope = {
    key: kernelKey,
    mayUse: (name: string) => name === groups.default.name,
    allowRemoteAccess: options.allowRemoteAccess
  };
  router.use(kernelKeyAuth(scope, requireAuth(auth)));
  router.use(...jsonBody());

  router.get('/health', (_req, res: Response<HealthResponse>) => {
    res.json({ status: 'ok', version, group: groups.default.summary() });
  });
  router.get('/kernel-client', (req, res: Response<KernelClientInfo>) => {
    res.json(kernelClientInfo(req, kernelKey, groups.default.name));
  });
  router.use('/groups', groupsRouter(groups));

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
    } else if (!passesXsrf(req, verdict.by)) {
      res.status(403).json({
        error:
          'XSRF check failed: a request authenticated by the login cookie must send the _xsrf cookie value in X-XSRFToken'
      });
    } else {
      next();
    }
  };
}

/** Malformed JSON bodies and unexpected failures become JSON errors, never HTML pages. */
function jsonErrors(
  err: unknown,
  _req: Request,
  res: Response<ApiError>,
  _next: NextFunction
): void {
  const status = (err as { status?: number }).status ?? 500;
  const message = err instanceof Error ? err.message : String(err);
  res
    .status(status)
    .json({ error: status === 400 ? `Malformed request body: ${message}` : message });
}

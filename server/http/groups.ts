import { NextFunction, Request, Response, Router } from 'express';

import { ApiError, ExecutionSummary } from '../../src/protocol/api';
import { BadRequestError, ConflictError, NotFoundError, RankFailedError } from '../group/errors';
import { DdpGroup } from '../group/group';
import { callSchema, executeSchema, pullSchema, pushSchema, startGroupSchema } from './schemas';
import { validator } from './validate';

const validStart = validator(startGroupSchema, {
  gpus: 'must be "all" or a list of distinct GPU indices such as [0, 2]'
});
const validExecute = validator(executeSchema);
const validPush = validator(pushSchema);
const validPull = validator(pullSchema);
const validCall = validator(callSchema);

/** Looks groups up by name; unknown names are a 404. */
export interface GroupRegistry {
  get(name: string): DdpGroup | undefined;
  names(): string[];
}

/** `/ddp/api/groups/...`: group lifecycle and executions. */
export function groupsRouter(groups: GroupRegistry): Router {
  const router = Router();

  const group = (req: Request): DdpGroup => groupNamed(groups, String(req.params.group));

  router.get('/', (_req, res) => {
    res.json({ groups: groups.names().map(name => groups.get(name)!.info()) });
  });
  router.get('/:group', (req, res) => {
    res.json(group(req).info());
  });
  router.post('/:group', async (req, res) => {
    const g = group(req);
    res.json(await g.start(validStart(req.body ?? {})));
  });
  router.delete('/:group', async (req, res) => {
    const g = group(req);
    await g.stop();
    res.json(g.info());
  });
  router.get('/:group/warm', (req, res) => {
    res.json(group(req).warmInfo());
  });
  router.post('/:group/warm', async (req, res) => {
    const g = group(req);
    res.status(202).json(await g.warm(validStart(req.body ?? {})));
  });
  router.post('/:group/restart', async (req, res) => {
    res.json(await group(req).restart());
  });
  router.post('/:group/interrupt', async (req, res) => {
    await group(req).interrupt();
    res.status(204).end();
  });
  router.post('/:group/executions', (req, res) => {
    res.status(202).json(startExecution(groups, String(req.params.group), req.body));
  });
  router.post('/:group/push', async (req, res) => {
    res.json(await group(req).push(validPush(req.body)));
  });
  router.post('/:group/pull', async (req, res) => {
    res.json(await group(req).pull(validPull(req.body)));
  });
  router.post('/:group/call', async (req, res) => {
    res.json(await group(req).call(validCall(req.body)));
  });
  router.get('/:group/executions', (req, res) => {
    res.json({ executions: group(req).listExecutions() });
  });
  router.get('/:group/executions/:id', (req, res) => {
    const since = req.query.since === undefined ? 0 : Number(req.query.since);
    if (!Number.isInteger(since) || since < 0) {
      throw new BadRequestError('since must be a non-negative integer', 'since');
    }
    const record = group(req).record(String(req.params.id), since);
    if (!record) {
      throw new NotFoundError(
        `no execution "${req.params.id}" (it may be older than the kept history)`
      );
    }
    res.json(record);
  });

  router.use(errorStatus);
  return router;
}

/** `POST .../executions`, also sent over the WebSocket: the request checked, then started. */
export function startExecution(
  groups: GroupRegistry,
  name: string,
  body: unknown
): ExecutionSummary {
  return groupNamed(groups, name).execute(validExecute(body));
}

function groupNamed(groups: GroupRegistry, name: string): DdpGroup {
  const found = groups.get(name);
  if (!found) {
    throw new NotFoundError(`no group named "${name}" (groups: ${groups.names().join(', ')})`);
  }
  return found;
}

/** What an error of the request's making says to the client; null for the server's own (500). */
export function apiErrorOf(err: unknown): { status: 400 | 404 | 409 | 502; body: ApiError } | null {
  const status =
    err instanceof BadRequestError
      ? 400
      : err instanceof NotFoundError
        ? 404
        : err instanceof ConflictError
          ? 409
          : err instanceof RankFailedError
            ? 502
            : null;
  if (status === null) {
    return null;
  }
  const body: ApiError = { error: (err as Error).message };
  if (err instanceof BadRequestError && err.field) {
    body.field = err.field;
  }
  return { status, body };
}

function errorStatus(
  err: unknown,
  _req: Request,
  res: Response<ApiError>,
  next: NextFunction
): void {
  const known = apiErrorOf(err);
  if (!known) {
    return next(err);
  }
  res.status(known.status).json(known.body);
}

import express, { NextFunction, Request, RequestHandler, Response } from 'express';

import { ApiError } from '../../src/protocol/api';

/** The largest request body, and WebSocket message, the server takes. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * Request bodies are JSON, and say so: a cross-site HTML form can only send `text/plain`,
 * urlencoded or multipart bodies, never `application/json`, so refusing those (415) keeps a
 * browser's forms out even where the XSRF check would not. A request with neither body nor
 * Content-Type (`POST .../interrupt`) is fine.
 */
function requireJsonType(req: Request, res: Response<ApiError>, next: NextFunction): void {
  const type = req.headers['content-type'];
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    Number(req.headers['content-length'] ?? 0) > 0;
  const mediaType = type?.split(';')[0].trim().toLowerCase();
  if ((type !== undefined || hasBody) && mediaType !== 'application/json') {
    res.status(415).json({
      error: `Request bodies must be JSON (Content-Type: application/json), not ${type ?? 'untyped'}`
    });
    return;
  }
  next();
}

/** The body parsing of every API route: JSON only, at most MAX_BODY_BYTES. */
export function jsonBody(): RequestHandler[] {
  return [requireJsonType, express.json({ limit: MAX_BODY_BYTES })];
}

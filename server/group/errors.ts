/** Errors the API maps to HTTP statuses: bad input 400, unknown thing 404, wrong state 409. */
export class BadRequestError extends Error {
  constructor(
    message: string,
    readonly field?: string
  ) {
    super(message);
  }
}

export class NotFoundError extends Error {}

export class ConflictError extends Error {}

/** A rank kernel failed while the group started: not the request's fault, nor a server bug (502). */
export class RankFailedError extends Error {}

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

/** Which rank failed a group's start, in short, and its last output lines. */
export interface RankFailure {
  /** "rank 1 exited (exit code 3) while starting" */
  reason: string;
  rank: number | null;
  output: string[];
}

/** A rank kernel failed while the group started: not the request's fault, nor a server bug (502). */
export class RankFailedError extends Error {
  constructor(
    message: string,
    readonly failure: RankFailure = { reason: message, rank: null, output: [] }
  ) {
    super(message);
  }
}

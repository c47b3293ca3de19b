// The board's one error type: a stable code, a message that names the bad value, and the HTTP status it maps to in one place.

export type BoardErrorCode =
  /** A field is missing, too long, out of range or malformed; the message names it. */
  | "ERR_BAD_INPUT"
  /** The anti-flood stamp is missing, malformed, too cheap, stale, for something else, or spent. */
  | "ERR_STAMP"
  /** A status link, worker token or job host token that is not (or no longer) valid. */
  | "ERR_TOKEN"
  | "ERR_NOT_FOUND"
  /** The request is not in a state that allows this (e.g. cancelling a formed cluster). */
  | "ERR_CONFLICT"
  | "ERR_RATE_LIMITED"
  /** The pseudonym was banned by the board's operator. */
  | "ERR_BANNED"
  /** The board could not fetch the request's challenge from its onion, or got another answer. */
  | "ERR_UNVERIFIED";

const STATUS: Record<BoardErrorCode, number> = {
  ERR_BAD_INPUT: 400,
  ERR_STAMP: 400,
  ERR_TOKEN: 401,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_RATE_LIMITED: 429,
  ERR_BANNED: 403,
  ERR_UNVERIFIED: 412,
};

export class BoardError extends Error {
  override readonly name = "BoardError";
  readonly status: number;
  constructor(
    readonly code: BoardErrorCode,
    message: string,
    /** The form field it is about, for a message beside that field. */
    readonly field?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

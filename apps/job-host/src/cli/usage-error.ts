// The CLI layer's one error type: the command line itself is wrong (exit code 2).

export type UsageErrorCode =
  | "ERR_UNKNOWN_FLAG"
  | "ERR_UNSUPPORTED_FLAG"
  | "ERR_MISSING_VALUE"
  | "ERR_MISSING_FLAG"
  | "ERR_REPEATED_FLAG"
  | "ERR_BAD_VALUE"
  | "ERR_MISSING_ARGUMENT"
  | "ERR_UNEXPECTED_ARGUMENT"
  | "ERR_UNKNOWN_COMMAND";

export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    readonly code: UsageErrorCode,
    message: string,
    /** What to do next, shown after the message on the same line. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

// The CLI layer's own error: the command line is wrong (exit code 2).

export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    readonly code: "ERR_MISSING_FLAG" | "ERR_BAD_VALUE" | "ERR_CONFLICT" | "ERR_NO_TERMINAL",
    message: string,
  ) {
    super(message);
  }
}

/** Refusals made on this side, before joining: the volunteer said no, or stopped the worker. */
export class DeclinedError extends Error {
  override readonly name = "DeclinedError";
  constructor(
    readonly code: "ERR_DECLINED" | "ERR_STOPPED_BEFORE_JOIN",
    message: string,
  ) {
    super(message);
  }
}

/** Another live worker keeps its status in the same work folder. */
export class WorkDirBusyError extends Error {
  override readonly name = "WorkDirBusyError";
  readonly code = "ERR_WORK_DIR_BUSY";
}

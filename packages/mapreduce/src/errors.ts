// The engine's one error type: a stable code plus a message that names the bad value.

export type MapReduceErrorCode =
  | "ERR_INPUT_MISSING"
  | "ERR_INPUT_EMPTY"
  | "ERR_OUTPUT_EXISTS"
  | "ERR_BAD_JOB_SPEC"
  | "ERR_BAD_CONF"
  | "ERR_NOT_EXECUTABLE"
  | "ERR_BAD_JOB_MODULE"
  | "ERR_BAD_RECORD"
  | "ERR_TASK_FAILED"
  | "ERR_JOB_FAILED"
  | "ERR_CANCELLED";

export class MapReduceError extends Error {
  override readonly name = "MapReduceError";
  constructor(
    readonly code: MapReduceErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

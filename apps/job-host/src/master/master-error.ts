// The master's refusals: a stable code, an HTTP status, and a message that names the problem.
import type { WorkerApiCode } from "@tormr/protocol/worker-api";

const STATUS: Record<WorkerApiCode | "ERR_JOB" | "ERR_NO_JOB" | "ERR_JOB_EXISTS", number> = {
  ERR_BAD_MESSAGE: 400,
  ERR_PROTOCOL_VERSION: 400,
  ERR_TICKET: 403,
  ERR_CHALLENGE: 403,
  ERR_SIGNATURE: 403,
  ERR_SESSION: 401,
  ERR_WORKER_REMOVED: 403,
  ERR_UNKNOWN_ATTEMPT: 404,
  ERR_NOT_YOUR_ATTEMPT: 403,
  ERR_ATTEMPT_OVER: 409,
  ERR_BAD_RESULT: 422,
  ERR_NOT_FOUND: 404,
  ERR_TOO_LARGE: 413,
  ERR_JOB: 400,
  ERR_NO_JOB: 404,
  ERR_JOB_EXISTS: 409,
};

export type MasterErrorCode = keyof typeof STATUS;

export class MasterError extends Error {
  override readonly name = "MasterError";
  readonly status: number;
  constructor(
    readonly code: MasterErrorCode,
    message: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }
}

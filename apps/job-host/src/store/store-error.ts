// The bucket store's error type: a stable code that maps to one HTTP status, and a message naming the problem.

const STATUS = {
  ERR_BAD_REQUEST: 400,
  ERR_BAD_BUCKET_ID: 400,
  ERR_UPLOAD_ABORTED: 400,
  ERR_NO_ROUTE: 404,
  ERR_BUCKET_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_BUCKET_EXISTS: 409,
  ERR_TOO_LARGE: 413,
  ERR_BAD_RANGE: 416,
  ERR_DISK_FULL: 507,
  ERR_QUOTA: 507,
} as const;

export type StoreErrorCode = keyof typeof STATUS;

export class StoreError extends Error {
  override readonly name = "StoreError";
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): number {
    return STATUS[this.code];
  }
}

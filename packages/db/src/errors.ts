// The database layer's error type: a stable code, and a message naming the file and what to do.

export type DbErrorCode =
  /** The path is not absolute, or its folder cannot be created or written. */
  | "ERR_DB_PATH"
  /** The file exists but is not a usable SQLite database (wrong header, or SQLite says corrupt). */
  | "ERR_DB_CORRUPT"
  /** `prisma migrate deploy` failed on the file (or on the template it is copied from). */
  | "ERR_DB_MIGRATE";

export class DbError extends Error {
  override readonly name = "DbError";
  constructor(
    readonly code: DbErrorCode,
    /** The database file the error is about. */
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

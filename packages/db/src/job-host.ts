// The job host's database (prisma/job-host): opened migrated, and tuned for a server that must not lose data.
import type { MigratedDatabase } from "./_migrations.ts";
import { openMigrated } from "./_sqlite.ts";
import { Prisma, PrismaClient } from "./generated/job-host/client.ts";

export type { Bucket, Commit, Exposure, Revocation } from "./generated/job-host/client.ts";
/** For `satisfies Prisma.BucketSelect` and `instanceof Prisma.PrismaClientKnownRequestError`. */
export { Prisma };

/** A client of one job host database. Close it with `await db.$disconnect()`. */
export type JobHostDb = PrismaClient;

const JOB_HOST: MigratedDatabase = { name: "job-host", urlVariable: "JOB_HOST_DATABASE_URL" };

/**
 * Opens the job host database at `path` (absolute), creating it and its folder if need be, after
 * bringing it up to date with prisma/job-host/migrations: a new file is a copy of a template built
 * by `prisma migrate deploy` (a few ms after the first time), and an existing file gets
 * `prisma migrate deploy` run on it (about 2 s), so upgrades apply.
 *
 * Connections use WAL, synchronous=FULL and a busy timeout (see `_sqlite.ts`).
 * Open one client per file per process, and close it with `await db.$disconnect()`.
 *
 * @throws DbError `ERR_DB_PATH`, `ERR_DB_CORRUPT` or `ERR_DB_MIGRATE`, its message naming the path.
 */
export async function openJobHostDb(path: string): Promise<JobHostDb> {
  return openMigrated(JOB_HOST, path, (adapter) => new PrismaClient({ adapter }));
}

/** True for Prisma's P2002: a row with the same `@id` or unique key is already there. */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002";
}

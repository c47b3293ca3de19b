// Getting a SQLite file ready for a Prisma client: checks with clear errors, migrations, tuning.
import { mkdir, stat } from "node:fs/promises";
import { dirname, isAbsolute } from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import type { SqlDriverAdapterFactory } from "@prisma/client/runtime/client";
import {
  createFromTemplate,
  deploy,
  exists,
  isCode,
  type MigratedDatabase,
  migrationNames,
} from "./_migrations.ts";
import { DbError } from "./errors.ts";

/** How long a statement waits for another connection's write lock before failing with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;

/**
 * Set on every connection. WAL lets readers (serving buckets) run beside the one writer.
 * synchronous=FULL fsyncs the WAL at every commit: with NORMAL, a power cut can undo the last
 * commits after the server has acknowledged them (a task commit, a revocation, a ledger row), and
 * our write rate (a row per bucket stored or read served) easily affords one fsync each.
 */
const PRAGMAS = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

/**
 * Makes `path` (absolute) an up-to-date database: a new file is a copy of the migrated template,
 * an existing one is checked to be SQLite and then gets `prisma migrate deploy`.
 */
export async function prepareDatabaseFile(db: MigratedDatabase, path: string): Promise<void> {
  const what = `${db.name} database`;
  if (!isAbsolute(path)) {
    throw new DbError("ERR_DB_PATH", path, `${what} path must be absolute, got '${path}'`);
  }
  await pathStep(db, path, "create the folder of", () => mkdir(dirname(path), { recursive: true }));
  if (await isNew(db, path)) {
    if (await pathStep(db, path, "create", () => createFromTemplate(db, path))) return;
  }
  const applied = await probe(db, path);
  // Already up to date: no `migrate deploy` (a child process that wants the write lock, which a
  // busy server holding the file would make it wait for and fail).
  const committed = await migrationNames(db);
  if (committed.every((name) => applied.has(name))) return;
  await deploy(db, path);
}

/** The better-sqlite3 adapter for `path`, running PRAGMAS on each connection it makes. */
export function tunedAdapter(path: string): SqlDriverAdapterFactory {
  const factory = new PrismaBetterSQLite3({ url: `file:${path}`, timeout: BUSY_TIMEOUT_MS });
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const adapter = await factory.connect();
      await adapter.executeScript(PRAGMAS);
      return adapter;
    },
  };
}

/** True when nothing is at `path` yet. */
async function isNew(db: MigratedDatabase, path: string): Promise<boolean> {
  const what = `${db.name} database`;
  const stats = await pathStep(db, path, "inspect", () =>
    stat(path).catch((error: unknown) =>
      isCode(error, "ENOENT") ? undefined : Promise.reject(error),
    ),
  );
  if (stats === undefined) {
    // A WAL without its database is left over from a deleted one, and SQLite would replay it into
    // the new file. Deleting it here could race with another process creating the same database.
    if (await exists(`${path}-wal`)) {
      throw new DbError(
        "ERR_DB_CORRUPT",
        path,
        `found ${path}-wal but no ${what} ${path}: restore the database, or delete the stale -wal and -shm files`,
      );
    }
    return true;
  }
  if (!stats.isFile()) {
    throw new DbError("ERR_DB_PATH", path, `${what} path ${path} exists but is not a file`);
  }
  return false;
}

/**
 * Reads the schema table once, so that a file that is not SQLite, or is damaged, fails here with
 * SQLite's own words (prisma's migrate deploy would only say "External error").
 * @returns the migrations Prisma has applied to it in full.
 */
async function probe(db: MigratedDatabase, path: string): Promise<Set<string>> {
  const factory = new PrismaBetterSQLite3({ url: `file:${path}`, fileMustExist: true });
  let adapter: Awaited<ReturnType<typeof factory.connect>> | undefined;
  try {
    adapter = await factory.connect();
    const tables = await adapter.queryRaw({
      sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'",
      args: [],
      argTypes: [],
    });
    if (tables.rows.length === 0) return new Set();
    const applied = await adapter.queryRaw({
      sql: "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
      args: [],
      argTypes: [],
    });
    return new Set(applied.rows.map((row) => String(row[0])));
  } catch (error) {
    const code = sqliteCode(error);
    const reason = error instanceof Error ? error.message : String(error);
    if (code === "SQLITE_NOTADB" || code?.startsWith("SQLITE_CORRUPT")) {
      throw new DbError(
        "ERR_DB_CORRUPT",
        path,
        `${db.name} database ${path} is corrupt or not a SQLite database (${reason}); restore it from a backup or move it away`,
        { cause: error },
      );
    }
    throw new DbError("ERR_DB_PATH", path, `cannot open ${db.name} database ${path}: ${reason}`, {
      cause: error,
    });
  } finally {
    await adapter?.dispose();
  }
}

/** better-sqlite3's error code, whether the adapter passed the error on as is or wrapped it. */
function sqliteCode(error: unknown): string | undefined {
  const { code, cause } = error as { code?: unknown; cause?: { originalCode?: unknown } };
  if (typeof code === "string") return code;
  return typeof cause?.originalCode === "string" ? cause.originalCode : undefined;
}

/** Runs a filesystem step, turning its failure into ERR_DB_PATH naming the database. */
async function pathStep<T>(
  db: MigratedDatabase,
  path: string,
  verb: string,
  step: () => Promise<T>,
): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof DbError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DbError(
      "ERR_DB_PATH",
      path,
      `cannot ${verb} ${db.name} database ${path}: ${reason}`,
      {
        cause: error,
      },
    );
  }
}

/** What both generated clients have in common here. */
interface Connectable {
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
}

/**
 * Brings `path` up to date (prepareDatabaseFile), then connects a client made by `make` on the
 * tuned adapter. One helper for every database under prisma/.
 * @throws DbError `ERR_DB_PATH`, `ERR_DB_CORRUPT` or `ERR_DB_MIGRATE`, its message naming the path.
 */
export async function openMigrated<C extends Connectable>(
  db: MigratedDatabase,
  path: string,
  make: (adapter: SqlDriverAdapterFactory) => C,
): Promise<C> {
  await prepareDatabaseFile(db, path);
  const client = make(tunedAdapter(path));
  try {
    await client.$connect();
  } catch (error) {
    await client.$disconnect().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new DbError("ERR_DB_PATH", path, `cannot open ${db.name} database ${path}: ${reason}`, {
      cause: error,
    });
  }
  return client;
}

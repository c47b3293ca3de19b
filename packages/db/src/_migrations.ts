// Brings a SQLite file up to date with one database's committed migrations under prisma/<name>/.
//
// `prisma migrate deploy` (a child process, about 1 s) is the only thing that ever applies a
// migration. A NEW file is a copy of a template that `migrate deploy` built once per migrations
// content hash, so opening a fresh database per job costs a file copy. The copy carries Prisma's own
// `_prisma_migrations` rows, so later deploys see it exactly as if deploy had built it.
import { execFile } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { access, copyFile, link, mkdir, readdir, readFile, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DbError } from "./errors.ts";

const execFileAsync = promisify(execFile);
const require = createRequire(import.meta.url);

/**
 * The monorepo's root: this file is packages/db/src/_migrations.ts. (Not `new URL("../../../",
 * import.meta.url)`: a bundler such as Next's takes that for an asset to resolve.)
 */
const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** Built templates, one per migrations hash. `npm ci` empties it along with node_modules. */
export const TEMPLATE_CACHE = join(REPO_ROOT, "node_modules", ".cache", "tormr");

export interface MigratedDatabase {
  /** Its folder under prisma/, e.g. "job-host". */
  readonly name: string;
  /** The variable its prisma.config.ts reads the url from. */
  readonly urlVariable: string;
}

const prismaDir = (db: MigratedDatabase) => join(REPO_ROOT, "prisma", db.name);

/** Runs `prisma migrate deploy` on `file`, turning a failure into a DbError naming the file. */
export async function deploy(db: MigratedDatabase, file: string): Promise<void> {
  // The CLI's own entry point, not `npx prisma`: no PATH lookup, no chance of a download.
  const cli = require.resolve("prisma/build/index.js");
  const config = join(prismaDir(db), "prisma.config.ts");
  try {
    await execFileAsync(process.execPath, [cli, "migrate", "deploy", "--config", config], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        [db.urlVariable]: `file:${file}`,
        // No update check and no telemetry: nothing but npm is reachable, and each would cost time.
        CHECKPOINT_DISABLE: "1",
        PRISMA_HIDE_UPDATE_MESSAGE: "1",
      },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (error) {
    const output = prismaOutput(error);
    if (/not a database|malformed|SQLITE_CORRUPT|SQLITE_NOTADB/i.test(output)) {
      throw new DbError(
        "ERR_DB_CORRUPT",
        file,
        `${db.name} database ${file} is corrupt or not a SQLite database (${output}); restore it from a backup or move it away`,
        { cause: error },
      );
    }
    throw new DbError(
      "ERR_DB_MIGRATE",
      file,
      `prisma migrate deploy failed on ${db.name} database ${file}: ${output}`,
      { cause: error },
    );
  }
}

/** Lines every prisma run prints, which say nothing about a failure. */
const NOISE =
  /^(Loaded Prisma config|Prisma config detected|Prisma schema loaded|Datasource |WARNING: Your schema specifies|- url$|The values from your schema|We recommend you to remove|\d+ migrations? found)/;

/** The lines of a failed prisma run that say why. */
function prismaOutput(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { stdout, stderr } = error as Error & { stdout?: string; stderr?: string };
  const lines = `${stderr ?? ""}\n${stdout ?? ""}`
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !NOISE.test(line));
  return lines.length > 0 ? lines.join(" | ").slice(0, 2000) : error.message;
}

/** The names of the committed migrations (their folders under prisma/<name>/migrations). */
export async function migrationNames(db: MigratedDatabase): Promise<string[]> {
  const entries = await readdir(join(prismaDir(db), "migrations"), { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Creates `file`, which did not exist a moment ago, as a copy of the template. Returns false when
 * another process created it first: the caller then treats it as an existing database.
 */
export async function createFromTemplate(db: MigratedDatabase, file: string): Promise<boolean> {
  const partial = `${file}.${randomUUID()}.partial`;
  try {
    await copyTemplate(db, partial);
    // link() never replaces a file, so a database another process just created is not clobbered,
    // and nobody sees a half-copied file under the real name.
    await link(partial, file);
    return true;
  } catch (error) {
    if (isCode(error, "EEXIST")) return false;
    if (error instanceof DbError) {
      // The template failed to build: say which database the caller was opening.
      const message = `cannot create ${db.name} database ${file}: ${error.message}`;
      throw new DbError(error.code, file, message, { cause: error });
    }
    // Filesystems without hard links: rename is atomic too, only not exclusive.
    if (isCode(error, "EPERM") || isCode(error, "ENOTSUP") || isCode(error, "ENOSYS")) {
      if (await exists(file)) return false;
      await rename(partial, file);
      return true;
    }
    throw error;
  } finally {
    await rm(partial, { force: true });
  }
}

async function copyTemplate(db: MigratedDatabase, to: string): Promise<void> {
  try {
    await copyFile(await ensureTemplate(db), to);
  } catch (error) {
    if (!isCode(error, "ENOENT")) throw error;
    // The cache was emptied (say by `npm ci`) between finding the template and copying it.
    templates.clear();
    await copyFile(await ensureTemplate(db), to);
  }
}

/** Template builds by cache path, so that parallel opens in one process share one build. */
const templates = new Map<string, Promise<string>>();

/** The path of an up-to-date template database, built first if this migrations hash has none. */
async function ensureTemplate(db: MigratedDatabase): Promise<string> {
  const template = join(TEMPLATE_CACHE, `${db.name}-${await migrationsHash(db)}.db`);
  let ready = templates.get(template);
  if (ready === undefined) {
    ready = buildTemplate(db, template);
    templates.set(template, ready);
    // A failed build is not remembered: the next open tries again.
    ready.catch(() => templates.delete(template));
  }
  return ready;
}

async function buildTemplate(db: MigratedDatabase, template: string): Promise<string> {
  if (await exists(template)) return template;
  await mkdir(TEMPLATE_CACHE, { recursive: true });
  // Built under a private name, then renamed: concurrent processes build equivalent templates,
  // and a reader only ever sees a complete one.
  const building = join(TEMPLATE_CACHE, `${randomUUID()}.building.db`);
  try {
    await deploy(db, building);
    await rename(building, template);
  } finally {
    for (const suffix of ["", "-journal", "-wal", "-shm"]) {
      await rm(`${building}${suffix}`, { force: true });
    }
  }
  return template;
}

/** sha256 over the migration files (names and contents) and the prisma version that applies them. */
async function migrationsHash(db: MigratedDatabase): Promise<string> {
  const dir = join(prismaDir(db), "migrations");
  const { version } = require("prisma/package.json") as { version: string };
  const hash = createHash("sha256").update(`prisma ${version}\n`);
  const entries = await readdir(dir, { withFileTypes: true });
  const files = entries
    .map((entry) => (entry.isDirectory() ? `${entry.name}/migration.sql` : entry.name))
    .sort();
  for (const file of files) {
    hash
      .update(`${file}\n`)
      .update(await readFile(join(dir, file)))
      .update("\n");
  }
  return hash.digest("hex").slice(0, 16);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (error) {
    if (isCode(error, "ENOENT")) return false;
    throw error;
  }
}

export function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

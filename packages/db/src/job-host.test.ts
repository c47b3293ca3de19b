import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DbError } from "./errors.ts";
import { isUniqueViolation, type JobHostDb, openJobHostDb } from "./job-host.ts";

const MIGRATIONS = join(import.meta.dirname, "..", "..", "..", "prisma", "job-host", "migrations");

// Opening an existing file runs `prisma migrate deploy` (a child process), and the very first open
// builds the template: both take seconds, far more on a loaded machine.
const SLOW = 60_000;

let dir: string;
const open: JobHostDb[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tormr-db-"));
});

afterAll(async () => {
  await Promise.all(open.map((db) => db.$disconnect()));
  await rm(dir, { recursive: true, force: true });
});

async function openAt(name: string): Promise<JobHostDb> {
  const db = await openJobHostDb(join(dir, name));
  open.push(db);
  return db;
}

async function openError(path: string): Promise<DbError> {
  const error = await openJobHostDb(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DbError);
  return error as DbError;
}

const bucket = (id: string) => ({
  id,
  job: "job1",
  size: 2n ** 40n,
  records: 12,
  digest: "a".repeat(64),
  writer: "pseudo-w1",
  task: "m3",
  attempt: 0,
});

const exposure = (bucket: string) => ({
  job: "job1",
  pseudonym: "pseudo-r1",
  bucket,
  bytes: 5n,
  records: 2,
});

describe("openJobHostDb on a new file", () => {
  it(
    "creates every table, each of which takes and gives back a row",
    async () => {
      const db = await openAt("nested/folder/fresh.db");
      await db.bucket.create({ data: bucket("j/job1/m/3/0/p1") });
      await db.commit.create({ data: { job: "job1", task: "m3", attempt: 0 } });
      const exp = new Date("2030-01-01T00:00:00Z");
      await db.revocation.create({
        data: { jti: "g1", job: "job1", reason: "test", expiresAt: exp },
      });
      await db.exposure.create({
        data: {
          job: "job1",
          pseudonym: "pseudo-r1",
          bucket: "j/job1/m/3/0/p1",
          bytes: 5n,
          records: 2,
        },
      });

      expect(await db.bucket.findUniqueOrThrow({ where: { id: "j/job1/m/3/0/p1" } })).toMatchObject(
        {
          ...bucket("j/job1/m/3/0/p1"),
          createdAt: expect.any(Date),
        },
      );
      expect(await db.commit.findMany()).toMatchObject([{ job: "job1", task: "m3", attempt: 0 }]);
      expect(await db.revocation.findMany()).toMatchObject([{ jti: "g1", expiresAt: exp }]);
      expect(await db.exposure.findMany()).toMatchObject([{ id: 1, bytes: 5n, records: 2 }]);
    },
    SLOW,
  );

  it("is configured for durability: WAL, synchronous=FULL, a busy timeout", async () => {
    const db = await openAt("pragmas.db");
    expect(await db.$queryRawUnsafe("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
    expect(await db.$queryRawUnsafe("PRAGMA synchronous")).toEqual([{ synchronous: 2n }]);
    expect(await db.$queryRawUnsafe("PRAGMA busy_timeout")).toEqual([{ timeout: 5000n }]);
  });

  it("opens fresh databases one after another from the template", async () => {
    for (const name of ["second.db", "third.db"]) {
      const started = performance.now();
      const db = await openAt(name);
      console.log(`opened new ${name} in ${(performance.now() - started).toFixed(0)} ms`);
      expect(await db.bucket.count()).toBe(0);
      await db.bucket.create({ data: bucket(`j/${name}`) });
    }
  });

  it(
    "opens several databases at once, the same new path twice included",
    async () => {
      const names = ["p1.db", "p2.db", "p3.db", "same.db", "same.db"];
      const dbs = await Promise.all(names.map((name) => openAt(`parallel/${name}`)));
      await Promise.all(dbs.map((db, i) => db.exposure.create({ data: exposure(`b${i}`) })));
      const [p1, , , same] = dbs;
      expect(await p1?.exposure.count()).toBe(1);
      expect(await same?.exposure.count()).toBe(2);
    },
    SLOW,
  );

  it("rejects a second row with the same key in every keyed table", async () => {
    const db = await openAt("duplicates.db");
    const twice = async (create: () => Promise<unknown>) => {
      await create();
      const error = await create().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUniqueViolation(error)).toBe(true);
    };
    await twice(() => db.bucket.create({ data: bucket("j/dup") }));
    await twice(() => db.commit.create({ data: { job: "job1", task: "r0", attempt: 1 } }));
    const expiresAt = new Date();
    await twice(() =>
      db.revocation.create({ data: { jti: "g", job: "j", reason: "r", expiresAt } }),
    );
    // The same task in another job is another commit.
    await db.commit.create({ data: { job: "job2", task: "r0", attempt: 4 } });
    expect(await db.commit.count()).toBe(2);
    expect(isUniqueViolation(new Error("P2002"))).toBe(false);
  });
});

describe("openJobHostDb on an existing file", () => {
  it(
    "keeps the data across a close and re-open, and each migration is applied exactly once",
    async () => {
      const path = join(dir, "reopen.db");
      const first = await openJobHostDb(path);
      await first.bucket.create({ data: bucket("j/keep") });
      await first.$disconnect();

      const started = performance.now();
      const again = await openAt("reopen.db");
      console.log(
        `re-opened with migrate deploy in ${(performance.now() - started).toFixed(0)} ms`,
      );
      expect(await again.bucket.findMany({ select: { id: true } })).toEqual([{ id: "j/keep" }]);
      const history = await again.$queryRawUnsafe<{ n: bigint }[]>(
        "SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL",
      );
      const migrations = (await readdir(MIGRATIONS, { withFileTypes: true })).filter((e) =>
        e.isDirectory(),
      );
      expect(history).toEqual([{ n: BigInt(migrations.length) }]);
    },
    SLOW,
  );

  it(
    "migrates an existing empty file (deploy runs on files that are already there)",
    async () => {
      await writeFile(join(dir, "empty.db"), "");
      const db = await openAt("empty.db");
      await db.commit.create({ data: { job: "j", task: "m0", attempt: 0 } });
      expect(await db.commit.count()).toBe(1);
    },
    SLOW,
  );
});

describe("openJobHostDb errors name the path", () => {
  it("a relative path", async () => {
    const error = await openError("relative/job.db");
    expect(error.code).toBe("ERR_DB_PATH");
    expect(error.message).toContain("'relative/job.db'");
  });

  it("a folder that cannot be created because its parent is a regular file", async () => {
    await writeFile(join(dir, "plain-file"), "x");
    const path = join(dir, "plain-file", "sub", "job.db");
    const error = await openError(path);
    expect(error.code).toBe("ERR_DB_PATH");
    expect(error.path).toBe(path);
    expect(error.message).toContain(path);
  });

  it("a path that is a folder", async () => {
    const error = await openError(dir);
    expect(error.code).toBe("ERR_DB_PATH");
    expect(error.message).toContain(dir);
  });

  it("a file of random bytes", async () => {
    const path = join(dir, "random.db");
    await writeFile(path, randomBytes(8192));
    const error = await openError(path);
    expect(error.code).toBe("ERR_DB_CORRUPT");
    expect(error.message).toContain(path);
  });

  it(
    "a file with the SQLite header but garbage after it",
    async () => {
      const path = join(dir, "garbage.db");
      await writeFile(path, Buffer.concat([Buffer.from("SQLite format 3\0"), randomBytes(8192)]));
      const error = await openError(path);
      expect(error.code).toBe("ERR_DB_CORRUPT");
      expect(error.message).toContain(path);
    },
    SLOW,
  );

  it(
    "a database whose tables the migration history does not know about",
    async () => {
      const path = join(dir, "no-history.db");
      const db = await openJobHostDb(path);
      await db.$executeRawUnsafe("DROP TABLE _prisma_migrations");
      await db.$disconnect();
      const error = await openError(path);
      expect(error.code).toBe("ERR_DB_MIGRATE");
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/P3005/); // prisma: the schema is not empty
    },
    SLOW,
  );

  it("a leftover -wal file without its database", async () => {
    const path = join(dir, "orphan.db");
    await writeFile(`${path}-wal`, randomBytes(64));
    const error = await openError(path);
    expect(error.code).toBe("ERR_DB_CORRUPT");
    expect(error.message).toContain(`${path}-wal`);
  });
});

describe("openJobHostDb on a database from before the master's migration", () => {
  it(
    "applies the new migration at start and keeps the buckets",
    async () => {
      const path = join(dir, "old.db");
      const db = await openJobHostDb(path);
      await db.bucket.create({ data: bucket("j/old") });
      // Back to the first migration's shape: what a job host of the previous release left.
      for (const table of ["Job", "Task", "Attempt", "Worker", "JoinTicket"]) {
        await db.$executeRawUnsafe(`DROP TABLE "${table}"`);
      }
      await db.$executeRawUnsafe(`ALTER TABLE "Bucket" DROP COLUMN "key"`);
      await db.$executeRawUnsafe(
        `DELETE FROM _prisma_migrations WHERE migration_name LIKE '%_master'`,
      );
      await db.$disconnect();

      const upgraded = await openAt("old.db");
      expect(await upgraded.bucket.findMany({ select: { id: true, key: true } })).toEqual([
        { id: "j/old", key: null },
      ]);
      expect(await upgraded.job.count()).toBe(0);
    },
    SLOW,
  );
});

describe("the job host's schema", () => {
  it("has no column that could hold an IP address", async () => {
    const schema = await readFile(
      join(import.meta.dirname, "..", "..", "..", "prisma", "job-host", "schema.prisma"),
      "utf8",
    );
    const columns = [...schema.matchAll(/^\s{2}(\w+)\s+\w+/gm)].map((m) => m[1] ?? "");
    expect(columns.length).toBeGreaterThan(50);
    expect(
      columns.filter((c) => /^ip|ip$|[a-z]Ip|addr|remote|forwarded|^host(?!Hash)/.test(c)),
    ).toEqual([]);
  });
});

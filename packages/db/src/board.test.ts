// The board's database: migrated on open, and the schema itself keeps a worker in one cluster at a time.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BoardDb, openBoardDb } from "./board.ts";

const SCHEMA = join(import.meta.dirname, "..", "..", "..", "prisma", "board", "schema.prisma");

let dir: string;
let db: BoardDb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tormr-board-db-"));
  db = await openBoardDb(join(dir, "board.db"));
}, 60_000);
afterAll(async () => {
  await db?.$disconnect();
  await rm(dir, { recursive: true, force: true });
});

const request = (id: string) =>
  db.request.create({
    data: {
      id,
      statusHash: `status-${id}`,
      title: "t",
      description: "d",
      size: 2,
      onion: "a".repeat(56),
      minMemoryMb: 256,
      sandbox: "any",
      state: "waiting",
      expiresAt: new Date(Date.now() + 60_000),
    },
  });
const worker = (pseudonym: string) =>
  db.worker.create({
    data: {
      pseudonym,
      signingKey: `sign-${pseudonym}`,
      wrappingKey: "w",
      clientAuthKey: "c",
      tokenHash: `token-${pseudonym}`,
      memoryMb: 512,
      sandbox: "bwrap",
      slots: 1,
      epoch: 0,
      state: "available",
    },
  });
const seat = (worker: string, request: string, ticketHash: string) =>
  db.seat.create({ data: { worker, request, ticketHash } });

describe("the board database", () => {
  it("holds a worker in at most one cluster, and never twice in one, by its constraints", async () => {
    await request("r1");
    await request("r2");
    await worker("w1");
    await seat("w1", "r1", "t1");
    for (const [request, ticket] of [
      ["r2", "t2"],
      ["r1", "t3"],
    ] as const) {
      await expect(seat("w1", request, ticket)).rejects.toMatchObject({ code: "P2002" });
    }
    // A ticket's hash names one seat.
    await worker("w2");
    await expect(seat("w2", "r2", "t1")).rejects.toMatchObject({ code: "P2002" });
    expect(await db.seat.count()).toBe(1);
  });

  it("frees a worker's seat when its request goes", async () => {
    await db.request.delete({ where: { id: "r1" } });
    expect(await db.seat.count({ where: { worker: "w1" } })).toBe(0);
  });

  it("has no column that could hold an IP address", async () => {
    const schema = await readFile(SCHEMA, "utf8");
    const columns = [...schema.matchAll(/^\s{2}(\w+)\s+\w+/gm)].map((m) => m[1] ?? "");
    expect(columns.length).toBeGreaterThan(20);
    expect(
      columns.filter((c) => /^ip|ip$|[a-z]Ip|addr|remote|forwarded|^host(?!Hash)/.test(c)),
    ).toEqual([]);
  });
});

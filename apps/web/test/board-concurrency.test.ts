// Two board processes on one database file, 200 workers and 20 requests at once: every cluster forms, and no worker sits in two.
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { BoardDb } from "@tormr/db/board";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formClusters } from "../src/server/board/form-clusters.ts";
import { boardDb, SETTINGS } from "./board-helpers.ts";

let db: BoardDb;
let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ db, dir, cleanup } = await boardDb());
}, 60_000);
afterAll(() => cleanup?.());

function boardProcess(
  workers: number,
  requests: number,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "fixtures", "board-process.ts"),
      join(dir, "board.db"),
      String(workers),
      String(requests),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, stderr })));
}

describe("two board processes on one database", () => {
  it("form all 20 clusters of 10 from 200 workers, each worker in exactly one", async () => {
    const results = await Promise.all([boardProcess(100, 10), boardProcess(100, 10)]);
    for (const result of results) expect(result, result.stderr).toMatchObject({ code: 0 });
    await formClusters(db, SETTINGS);
    expect(await db.request.count({ where: { state: "formed" } })).toBe(20);
    const seats = await db.seat.findMany({ select: { worker: true, request: true } });
    expect(seats).toHaveLength(200);
    expect(new Set(seats.map((s) => s.worker)).size).toBe(200);
    const perRequest = new Map<string, number>();
    for (const seat of seats) perRequest.set(seat.request, (perRequest.get(seat.request) ?? 0) + 1);
    expect([...perRequest.values()].every((n) => n === 10)).toBe(true);
    expect(await db.worker.count({ where: { state: "seated" } })).toBe(200);
  }, 120_000);
});

import type { BoardDb } from "@tormr/db/board";
import { describe, expect, it } from "vitest";
import { registration, SETTINGS, withBoardDb } from "../../../test/board-helpers.ts";
import { registerWorker } from "../board/register-worker.ts";
import { heartbeat } from "../board/worker-calls.ts";
import { flushSeen, noteSeen } from "./last-seen.ts";

let db: BoardDb;
withBoardDb((opened) => {
  db = opened;
});

const lastSeen = async (pseudonym: string) =>
  (await db.worker.findUniqueOrThrow({ where: { pseudonym }, select: { lastSeen: true } }))
    .lastSeen;

describe("lastSeen batches", () => {
  it("write every noted worker at the batch's earliest heartbeat, in one flush", async () => {
    const registered = new Date();
    const workers = [];
    for (let i = 0; i < 3; i++) {
      workers.push(await registerWorker(db, SETTINGS, registration().body, registered));
    }
    for (const [i, worker] of workers.entries()) {
      await heartbeat(db, worker.token, new Date(registered.getTime() + 1_000 + i * 100));
    }
    // Not written yet: a heartbeat is a read.
    expect(await lastSeen(workers[0]?.pseudonym as string)).toEqual(registered);
    await flushSeen(db);
    for (const worker of workers) {
      expect(await lastSeen(worker.pseudonym)).toEqual(new Date(registered.getTime() + 1_000));
    }
  });

  it("never move a lastSeen back (a later poll or registration wins)", async () => {
    const later = new Date();
    const worker = await registerWorker(db, SETTINGS, registration().body, later);
    noteSeen(db, worker.pseudonym, new Date(later.getTime() - 60_000));
    await flushSeen(db);
    expect(await lastSeen(worker.pseudonym)).toEqual(later);
  });

  it("are written by themselves within FLUSH_MS", async () => {
    const at = new Date();
    const worker = await registerWorker(db, SETTINGS, registration().body, at);
    const seen = new Date(at.getTime() + 5_000);
    noteSeen(db, worker.pseudonym, seen);
    await expect.poll(() => lastSeen(worker.pseudonym), { timeout: 3_000 }).toEqual(seen);
  });
});

// A registered worker's calls: heartbeat, poll for its seat (the job host's onion and its ticket), leave.

import type { BoardDb } from "@tormr/db/board";
import type { BoardAssignment } from "@tormr/protocol/board-api";
import { workerByToken } from "./register-worker.ts";

/** Marks the worker heard from; a worker that had left is available again. */
export async function heartbeat(db: BoardDb, token: string | undefined, now = new Date()) {
  const worker = await workerByToken(db, token);
  await db.worker.update({
    where: { pseudonym: worker.pseudonym },
    data: {
      lastSeen: now,
      ...(worker.state === "left" ? { state: "available", availableSince: now } : {}),
    },
    select: { pseudonym: true },
  });
}

/**
 * The worker's seat, if it has one: the job host's onion and its join ticket. Only the token's
 * owner ever sees its ticket. Also a heartbeat.
 */
export async function pollAssignment(
  db: BoardDb,
  token: string | undefined,
  now = new Date(),
): Promise<BoardAssignment | undefined> {
  const worker = await workerByToken(db, token);
  const seat = await db.seat.findUnique({
    where: { worker: worker.pseudonym },
    select: { request: true, ticket: true, Request: { select: { onion: true, state: true } } },
  });
  await db.worker.update({
    where: { pseudonym: worker.pseudonym },
    data: { lastSeen: now },
    select: { pseudonym: true },
  });
  if (!seat?.ticket || seat.Request.state !== "formed") return undefined;
  return {
    requestId: seat.request,
    jobHost: `http://${seat.Request.onion}.onion`,
    ticket: seat.ticket,
  };
}

/** The worker leaves the pool, and its seat if it had one (the job host may ask for a replacement). */
export async function leave(db: BoardDb, token: string | undefined): Promise<void> {
  const worker = await workerByToken(db, token);
  await db.$transaction([
    db.seat.deleteMany({ where: { worker: worker.pseudonym } }),
    db.worker.update({
      where: { pseudonym: worker.pseudonym },
      data: { state: "left" },
      select: { pseudonym: true },
    }),
  ]);
}

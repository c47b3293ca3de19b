// A registered worker's calls: heartbeat, poll for its seat (the job host's onion and its ticket), leave.

import type { BoardDb } from "@tormr/db/board";
import type { BoardAssignment } from "@tormr/protocol/board-api";
import { noteSeen } from "../fast/last-seen.ts";
import { workerByToken } from "./register-worker.ts";

/**
 * Marks the worker heard from; a worker that had left is available again. The token is checked at
 * once (a bad one is refused now), but lastSeen is written with the other heartbeats of the same
 * second (see noteSeen): a heartbeat costs a read, not a write and its fsync. Under
 * `tormr-board start`, most heartbeats are answered before they reach here (fast/heartbeat.ts).
 */
export async function heartbeat(db: BoardDb, token: string | undefined, now = new Date()) {
  const worker = await workerByToken(db, token);
  if (worker.state !== "left") {
    noteSeen(db, worker.pseudonym, now);
    return;
  }
  await db.worker.update({
    where: { pseudonym: worker.pseudonym },
    data: { lastSeen: now, state: "available", availableSince: now },
    select: { pseudonym: true },
  });
}

/**
 * The worker's seat, once its job host has admitted it: the job host's onion and its join ticket. Only the token's
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
    select: {
      request: true,
      ticket: true,
      admittedAt: true,
      Request: { select: { onion: true, state: true } },
    },
  });
  await db.worker.update({
    where: { pseudonym: worker.pseudonym },
    data: { lastSeen: now },
    select: { pseudonym: true },
  });
  // Before the job host lets the worker's key in, its onion would refuse the worker.
  if (!seat?.ticket || !seat.admittedAt || seat.Request.state !== "formed") return undefined;
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

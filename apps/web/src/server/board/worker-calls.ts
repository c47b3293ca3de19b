// A registered worker's calls: heartbeat, poll for its seat (the job host's onion and its ticket), leave.

import type { BoardDb } from "@tormr/db/board";
import type { BoardAssignment } from "@tormr/protocol/board-api";
import { noteSeen } from "../fast/last-seen.ts";
import { workerByToken } from "./register-worker.ts";
import { hashSecret } from "./secrets.ts";

/**
 * Marks the worker heard from; a worker that had left is available again. The token is checked at
 * once (a bad one is refused now), but lastSeen is written with the other heartbeats of the same
 * second (see noteSeen): a heartbeat costs one indexed read, not a write and an fsync.
 */
export async function heartbeat(db: BoardDb, token: string | undefined, now = new Date()) {
  // A raw read: a quarter of findUnique's cost through Prisma's query compiler, and heartbeats
  // are the board's most frequent call. Anything but a known, present worker (no token, an
  // unknown one, a banned or departed worker) goes the usual way, for its usual refusal.
  const [found] = token
    ? await db.$queryRaw<{ pseudonym: string; state: string }[]>`
        SELECT "pseudonym", "state" FROM "Worker" WHERE "tokenHash" = ${hashSecret(token)}`
    : [];
  if (found && (found.state === "available" || found.state === "seated")) {
    noteSeen(db, found.pseudonym, now);
    return;
  }
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

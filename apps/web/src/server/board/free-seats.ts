// Freeing a request's seats: their rows go, and their workers are available again (as if newly come).
import type { BoardDb } from "@tormr/db/board";

/**
 * The two writes that free `requestId`'s seats, to run in one `$transaction` with whatever ends
 * the request (cancel, removal), so no worker is left "seated" in nothing.
 */
export async function freeSeats(db: BoardDb, requestId: string) {
  const seats = await db.seat.findMany({ where: { request: requestId }, select: { worker: true } });
  return [
    db.seat.deleteMany({ where: { request: requestId } }),
    db.worker.updateMany({
      where: { pseudonym: { in: seats.map((s) => s.worker) }, state: "seated" },
      data: { state: "available", availableSince: new Date() },
    }),
  ] as const;
}

/** Ends a request (cancelled, finished): its seats freed and its state set, in one transaction. */
export async function endRequest(
  db: BoardDb,
  requestId: string,
  state: "cancelled" | "finished",
): Promise<void> {
  await db.$transaction([
    ...(await freeSeats(db, requestId)),
    db.request.update({ where: { id: requestId }, data: { state }, select: { id: true } }),
  ]);
}

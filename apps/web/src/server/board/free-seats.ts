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

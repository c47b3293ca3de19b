// What the board's operator may do: look at coarse numbers, remove a request, ban a pseudonym. Plain functions, for tormr-board.
import type { BoardDb } from "@tormr/db/board";
import { BoardError } from "./errors.ts";
import { freeSeats } from "./free-seats.ts";

export interface OperatorStats {
  requests: Record<string, number>;
  workers: Record<string, number>;
  seats: number;
}

/** Exact counts by state, for the operator only (the home page shows coarse ones). */
export async function operatorStats(db: BoardDb): Promise<OperatorStats> {
  const [requests, workers, seats] = await Promise.all([
    db.request.groupBy({ by: ["state"], _count: true }),
    db.worker.groupBy({ by: ["state"], _count: true }),
    db.seat.count(),
  ]);
  return {
    requests: Object.fromEntries(requests.map((r) => [r.state, r._count])),
    workers: Object.fromEntries(workers.map((w) => [w.state, w._count])),
    seats,
  };
}

/** Deletes a request and frees its seats' workers. @throws BoardError ERR_NOT_FOUND. */
export async function removeRequest(db: BoardDb, id: string): Promise<void> {
  const [, , removed] = await db.$transaction([
    ...(await freeSeats(db, id)),
    db.request.deleteMany({ where: { id } }),
  ]);
  if (removed.count === 0) throw new BoardError("ERR_NOT_FOUND", `no request with id '${id}'`);
}

/** Bans a pseudonym: it loses its seat, and can neither register again nor call. */
export async function banWorker(db: BoardDb, pseudonym: string): Promise<void> {
  const [, banned] = await db.$transaction([
    db.seat.deleteMany({ where: { worker: pseudonym } }),
    db.worker.updateMany({ where: { pseudonym }, data: { state: "banned" } }),
  ]);
  if (banned.count === 0)
    throw new BoardError("ERR_NOT_FOUND", `no worker with pseudonym '${pseudonym}'`);
}

// Matching: a waiting request whose n suitable workers are available forms its cluster in one transaction.
import type { BoardDb } from "@tormr/db/board";
import { Raced, withBusyRetry } from "./busy-retry.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { BoardSettings } from "./settings.ts";

/**
 * Forms every cluster it can among verified requests, and seats replacements in formed ones short
 * of workers, oldest request first (first fit: a request that cannot be filled yet
 * does not hold back a later, smaller one). Workers go longest-waiting first, those of lowest
 * standing last (and none at or below `minStanding`), and must be fresh (heard from within `workerStaleMs`), have the memory and the
 * sandbox asked for. Each chosen worker gets a seat with a one-time join ticket.
 *
 * Safe with several board processes on one database: a worker is claimed only while still
 * available, and the Seat table's keys refuse a second seat, so a race rolls the pass back and it
 * runs again. Expired requests are marked expired first.
 * @returns the ids of the requests that formed or got replacements.
 */
export async function formClusters(
  db: BoardDb,
  settings: BoardSettings,
  now = new Date(),
): Promise<string[]> {
  // A seat's key taken by another process's pass (P2002) is a lost race too.
  const seatTaken = (error: unknown) => (error as { code?: string }).code === "P2002";
  return withBusyRetry(
    () =>
      db.$transaction(async (tx) => {
        await tx.request.updateMany({
          where: { state: "waiting", expiresAt: { lte: now } },
          data: { state: "expired" },
        });
        // Verified requests waiting for their cluster, and formed ones short of workers (the job
        // host gave some back as lost): oldest first, so a running job gets its replacements
        // before a newer request takes the workers.
        const open = await tx.request.findMany({
          where: {
            OR: [{ state: "waiting", verifiedAt: { not: null } }, { state: "formed" }],
          },
          orderBy: [{ createdAt: "asc" }, { id: "asc" }],
          select: {
            id: true,
            state: true,
            size: true,
            minMemoryMb: true,
            sandbox: true,
            _count: { select: { seats: true } },
          },
        });
        const fresh = new Date(now.getTime() - settings.workerStaleMs);
        const formed: string[] = [];
        for (const request of open) {
          const missing = request.size - request._count.seats;
          if (missing <= 0) continue;
          const workers = await tx.worker.findMany({
            where: {
              state: "available",
              standing: { gt: settings.minStanding },
              lastSeen: { gte: fresh },
              memoryMb: { gte: request.minMemoryMb },
              ...(request.sandbox === "any" ? {} : { sandbox: request.sandbox }),
            },
            orderBy: [{ standing: "desc" }, { availableSince: "asc" }, { pseudonym: "asc" }],
            take: missing,
            select: { pseudonym: true },
          });
          // A new cluster forms whole or not at all; a formed one takes what replacements there are.
          if (workers.length === 0 || (request.state === "waiting" && workers.length < missing)) {
            continue;
          }
          const ids = workers.map((w) => w.pseudonym);
          const claimed = await tx.worker.updateMany({
            where: { pseudonym: { in: ids }, state: "available" },
            data: { state: "seated" },
          });
          if (claimed.count !== ids.length) throw new Raced();
          for (const worker of ids) {
            const ticket = newSecret();
            await tx.seat.create({
              data: {
                worker,
                request: request.id,
                ticket,
                ticketHash: hashSecret(ticket),
                createdAt: now,
              },
            });
          }
          if (request.state === "waiting") {
            const updated = await tx.request.updateMany({
              where: { id: request.id, state: "waiting" },
              data: { state: "formed", formedAt: now },
            });
            if (updated.count !== 1) throw new Raced();
          }
          formed.push(request.id);
        }
        return formed;
      }),
    seatTaken,
  );
}

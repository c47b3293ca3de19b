// A job host reports members of its cluster whose results were outvoted: each loses standing once per request, and is matched later, or no more.
import type { BoardDb } from "@tormr/db/board";
import { reportSchema } from "@tormr/protocol/board-api";
import { parseInput } from "./post-request.ts";
import { ownRequestIn } from "./request-status.ts";

/**
 * Lowers by one the standing of each seated member named (by its ticket's hash) that this request
 * has not reported before; hashes of no seat of this request are ignored, so nobody can lower a
 * stranger's standing. The report is kept, never the job host's reasons beyond its kind.
 * @returns how many workers were lowered now.
 * @throws BoardError ERR_TOKEN, ERR_BAD_INPUT, ERR_CONFLICT unless the request is formed.
 */
export async function reportWorkers(
  db: BoardDb,
  token: string | undefined,
  input: unknown,
  now = new Date(),
): Promise<number> {
  const { ticketHashes, reason } = parseInput(reportSchema, input);
  const request = await ownRequestIn(
    db,
    undefined,
    token,
    ["formed"],
    (state) => `only a formed request's members can be reported; this one is ${state}`,
  );
  return db.$transaction(async (tx) => {
    const seats = await tx.seat.findMany({
      where: { request: request.id, ticketHash: { in: ticketHashes } },
      select: { worker: true },
    });
    let lowered = 0;
    for (const { worker } of seats) {
      const known = await tx.report.findUnique({
        where: { request_worker: { request: request.id, worker } },
      });
      if (known) continue;
      await tx.report.create({ data: { request: request.id, worker, reason, createdAt: now } });
      await tx.worker.update({
        where: { pseudonym: worker },
        data: { standing: { decrement: 1 } },
      });
      lowered++;
    }
    return lowered;
  });
}

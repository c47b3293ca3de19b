// What a formed request's job host is told: its workers' public keys and their tickets' hashes, never a ticket itself.
import type { BoardDb } from "@tormr/db/board";
import { BoardError } from "./errors.ts";
import { requestStatus } from "./request-status.ts";

export interface ClusterMember {
  pseudonym: string;
  keys: { signing: string; wrapping: string; clientAuth: string };
  /** SHA-256 (hex) of the ticket this worker was given: the job host admits exactly these. */
  ticketHash: string;
  /** Its coarse registration epoch: the job host spreads a task's replicas across epochs. */
  epoch: number;
}

/**
 * The members of the cluster the status token's request formed, for its job host: with their
 * client-authorization keys it restricts its onion to them, and with the tickets' hashes it
 * knows them when they join.
 * @throws BoardError ERR_TOKEN, ERR_CONFLICT while the request has not formed.
 */
export async function clusterOf(db: BoardDb, token: string | undefined): Promise<ClusterMember[]> {
  const status = await requestStatus(db, undefined, token);
  if (status.state !== "formed") {
    throw new BoardError("ERR_CONFLICT", `the request is ${status.state}, not formed`);
  }
  const seats = await db.seat.findMany({
    where: { request: status.id },
    orderBy: { worker: "asc" },
    select: {
      ticketHash: true,
      Worker: {
        select: {
          pseudonym: true,
          signingKey: true,
          wrappingKey: true,
          clientAuthKey: true,
          epoch: true,
        },
      },
    },
  });
  return seats.map(({ ticketHash, Worker: w }) => ({
    pseudonym: w.pseudonym,
    keys: { signing: w.signingKey, wrapping: w.wrappingKey, clientAuth: w.clientAuthKey },
    ticketHash,
    epoch: w.epoch,
  }));
}

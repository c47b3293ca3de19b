// Step 3 of the protocol: one-time tickets, the challenge a joining worker signs with its Ed25519 key, and its session.
import { createHash, randomBytes } from "node:crypto";
import { pseudonymOf, verifyEd25519 } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import { type JoinRequest, joinStatement } from "@tormr/protocol/worker-api";
import { MasterError } from "./master-error.ts";

/**
 * Checks the join signature over (ticket, challenge, both public keys) and returns the worker's
 * pseudonym. The wrapping key is signed too, so nobody can join with someone else's wrapping key.
 * @throws MasterError `ERR_SIGNATURE`.
 */
export function verifyJoin(request: JoinRequest): string {
  const signing = Buffer.from(request.keys.signing, "base64url");
  const wrapping = Buffer.from(request.keys.wrapping, "base64url");
  if (signing.length !== 32 || wrapping.length !== 32) {
    throw new MasterError(
      "ERR_SIGNATURE",
      "keys.signing and keys.wrapping must be 32-byte public keys",
    );
  }
  const statement = joinStatement(
    request.ticket,
    request.challenge,
    request.keys,
    request.clientAuth,
  );
  if (!verifyEd25519(request.keys.signing, statement, request.signature))
    throw new MasterError("ERR_SIGNATURE", "the join signature does not verify with keys.signing");
  return pseudonymOf(signing);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** How long a worker has to sign its challenge. */
const CHALLENGE_MS = 120_000;

/** A ticket a board handed out: its hash, its worker's Tor client-authorization key and epoch. */
export interface AdmittedTicket {
  hash: string;
  clientAuthKey: string;
  epoch?: number | undefined;
}

export type WorkerRow = {
  job: string;
  pseudonym: string;
  state: string;
  signingKey: string;
  wrappingKey: string;
};

/**
 * Tickets, challenges and sessions. Tickets and sessions are stored only as hashes, so a copy of
 * the database lets nobody join or act as a worker. Challenges live in memory: a restart between
 * challenge and join only makes the worker ask again.
 */
export class JoinDesk {
  private readonly challenges = new Map<string, { ticketHash: string; expires: number }>();

  constructor(private readonly db: JobHostDb) {}

  /**
   * `count` tickets, or one per key in `clientAuthKeys`: a ticket made for a worker's Tor
   * client-authorization key can be used only by a worker that joins with that key.
   */
  async createTickets(
    jobId: string,
    count: number,
    clientAuthKeys: readonly string[] = [],
  ): Promise<string[]> {
    const keys =
      clientAuthKeys.length > 0 ? clientAuthKeys : Array<undefined>(count).fill(undefined);
    const tickets = keys.map(() => randomBytes(32).toString("base64url"));
    await this.db.joinTicket.createMany({
      data: tickets.map((t, i) => ({
        hash: sha256(t),
        job: jobId,
        clientAuthKey: keys[i] ?? null,
      })),
    });
    return tickets;
  }

  /**
   * Tickets another party made and handed out (a board): only their SHA-256 hashes reach the job
   * host, each with the Tor client-authorization key of the worker it was given to, and the
   * worker's coarse registration epoch on the board when it gave one.
   */
  async registerTicketHashes(jobId: string, tickets: readonly AdmittedTicket[]): Promise<number> {
    for (const ticket of tickets) {
      if (!/^[0-9a-f]{64}$/.test(ticket.hash)) {
        throw new MasterError(
          "ERR_BAD_MESSAGE",
          "ticket hashes must be 64 hex characters (SHA-256)",
        );
      }
    }
    const known = await this.db.joinTicket.findMany({
      where: { hash: { in: tickets.map((t) => t.hash) } },
      select: { hash: true },
    });
    const fresh = tickets.filter((t) => !known.some((k) => k.hash === t.hash));
    await this.db.joinTicket.createMany({
      data: fresh.map((t) => ({
        hash: t.hash,
        job: jobId,
        clientAuthKey: t.clientAuthKey,
        epoch: t.epoch ?? null,
      })),
    });
    return fresh.length;
  }

  async challenge(ticket: string): Promise<{ challenge: string; jobId: string }> {
    const row = await this.db.joinTicket.findUnique({ where: { hash: sha256(ticket) } });
    if (!row || row.usedAt) {
      throw new MasterError("ERR_TICKET", "this join ticket is unknown or was already used");
    }
    const challenge = randomBytes(32).toString("base64url");
    const now = Date.now();
    for (const [key, value] of this.challenges) {
      if (value.expires < now) this.challenges.delete(key);
    }
    this.challenges.set(challenge, { ticketHash: row.hash, expires: now + CHALLENGE_MS });
    return { challenge, jobId: row.job };
  }

  /**
   * Checks the challenge and its signature, uses up the ticket (one statement, so two joins with
   * one ticket cannot both win), and records the worker with a new session.
   */
  async admit(
    request: JoinRequest,
  ): Promise<{ jobId: string; pseudonym: string; session: string }> {
    const ticketHash = sha256(request.ticket);
    const pending = this.challenges.get(request.challenge);
    if (!pending || pending.ticketHash !== ticketHash || pending.expires < Date.now()) {
      throw new MasterError(
        "ERR_CHALLENGE",
        "this challenge is unknown, expired, or for another ticket",
      );
    }
    const pseudonym = verifyJoin(request);
    this.challenges.delete(request.challenge);
    const ticket = await this.db.joinTicket.findUnique({ where: { hash: ticketHash } });
    if (ticket?.clientAuthKey && ticket.clientAuthKey !== request.clientAuth) {
      throw new MasterError(
        "ERR_TICKET",
        "this join ticket was made for another worker's Tor client-authorization key",
      );
    }
    const used = await this.db.joinTicket.updateMany({
      where: { hash: ticketHash, usedAt: null },
      data: { usedAt: new Date(), usedBy: pseudonym },
    });
    if (!ticket || used.count !== 1) {
      throw new MasterError("ERR_TICKET", "this join ticket is unknown or was already used");
    }
    const session = randomBytes(32).toString("base64url");
    const fields = {
      sessionHash: sha256(session),
      signingKey: request.keys.signing,
      wrappingKey: request.keys.wrapping,
      clientAuthKey: request.clientAuth ?? null,
      sandbox: request.capabilities.sandbox,
      slots: request.capabilities.slots,
      memoryBytes: BigInt(request.capabilities.memoryBytes),
      // Replicas of a task are spread across registration epochs (replication.ts).
      epoch: ticket.epoch,
      state: "active",
      lastSeen: new Date(),
    };
    await this.db.worker.upsert({
      where: { job_pseudonym: { job: ticket.job, pseudonym } },
      create: { job: ticket.job, pseudonym, ...fields },
      update: fields,
    });
    return { jobId: ticket.job, pseudonym, session };
  }

  async authenticate(session: string | undefined): Promise<WorkerRow> {
    const worker = session
      ? await this.db.worker.findUnique({ where: { sessionHash: sha256(session) } })
      : null;
    if (!worker) throw new MasterError("ERR_SESSION", "no such worker session: join the job first");
    return worker;
  }
}

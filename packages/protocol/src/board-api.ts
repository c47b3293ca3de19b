// The board's volunteer API: registering under a per-board pseudonym, long-polling for a seat, heartbeats, leaving (zod schemas).
import { sign } from "node:crypto";
import type { BoardIdentity } from "@tormr/crypto/board-identity";
import { privateKeyObject } from "@tormr/crypto/keys";
import { base32Encode } from "@tormr/tor/base32";
import { z } from "zod";
import { PROTOCOL_VERSION } from "./version.ts";
import { joinTicketSchema } from "./worker-api.ts";

const v = z.literal(PROTOCOL_VERSION);
const key32 = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "expected a 32-byte key in base64url");

export const boardWorkerKeysSchema = z.object({
  /** Ed25519 (base64url) of the worker's identity on this board: its pseudonym's key. */
  signing: key32,
  /** X25519 (base64url) that job hosts wrap bucket keys to. */
  wrapping: key32,
  /** X25519 (base32, rend-spec-v3 appendix G) the job host's onion lets in. */
  clientAuth: z.string().regex(/^[A-Z2-7]{52}$/, "expected 52 base32 characters"),
});
export type BoardWorkerKeys = z.infer<typeof boardWorkerKeysSchema>;

export const registerRequestSchema = z.object({
  v,
  keys: boardWorkerKeysSchema,
  capabilities: z.object({
    memoryMb: z.number().int().min(64).max(1_048_576),
    sandbox: z.enum(["docker", "bwrap"]),
    slots: z.number().int().min(1).max(64),
  }),
  /** A hashcash stamp for `<board onion>/register` (see @tormr/crypto/stamp). */
  stamp: z.string().min(1).max(400),
  /** Ed25519 signature (base64url) over `registrationStatement(...)` with `keys.signing`. */
  signature: z.string().regex(/^[A-Za-z0-9_-]{86}$/, "expected an Ed25519 signature in base64url"),
});
export type RegisterRequest = z.infer<typeof registerRequestSchema>;

/**
 * What a registering worker signs: the board, its stamp (fresh, and good once, so a signature
 * cannot be replayed) and all three keys, so nobody registers someone else's keys as theirs.
 */
export function registrationStatement(board: string, stamp: string, keys: BoardWorkerKeys): Buffer {
  return Buffer.from(
    `tormr-board-register/v${PROTOCOL_VERSION}\n${board}\n${stamp}\n${keys.signing}\n${keys.wrapping}\n${keys.clientAuth}`,
  );
}

/** The public keys a worker shows a board: those of its identity for that board. */
export function boardKeys(identity: BoardIdentity): BoardWorkerKeys {
  return {
    signing: identity.signing.publicKey.toString("base64url"),
    wrapping: identity.wrapping.publicKey.toString("base64url"),
    // rend-spec-v3 appendix G: the key a job host's onion lets in, as tor writes it.
    clientAuth: base32Encode(identity.clientAuth.publicKey).toUpperCase(),
  };
}

/** A registration signed with the per-board signing key, over the board, the stamp and the keys. */
export function registrationBody(
  board: string,
  identity: BoardIdentity,
  capabilities: RegisterRequest["capabilities"],
  stamp: string,
): RegisterRequest {
  const keys = boardKeys(identity);
  const signature = sign(
    null,
    registrationStatement(board, stamp, keys),
    privateKeyObject(identity.signing),
  ).toString("base64url");
  return { v: PROTOCOL_VERSION, keys, capabilities, stamp, signature };
}

export const registerResponseSchema = z.object({
  v,
  pseudonym: z.string(),
  /** The worker's bearer token for every later call; the board keeps only its hash. */
  token: joinTicketSchema,
  /** How often to heartbeat while waiting, and how long a poll is held. */
  heartbeatMs: z.number().int().positive(),
  pollMs: z.number().int().positive(),
});

/** A seat in a formed cluster: where the job host is, and the ticket to join it. */
export const assignmentSchema = z.object({
  requestId: z.string(),
  /** The job host's worker URL: `http://<56 characters>.onion`. */
  jobHost: z.string().regex(/^http:\/\/[a-z2-7]{56}\.onion$/),
  ticket: joinTicketSchema,
});
export type BoardAssignment = z.infer<typeof assignmentSchema>;

export const pollResponseSchema = z.object({
  v,
  state: z.enum(["waiting", "assigned"]),
  assignment: assignmentSchema.optional(),
});

// Requesters' and job hosts' calls, each authorized by the request's status token.

/** A request as its status link shows it; `verified` once its job host proved the onion is its own. */
export const requestStatusSchema = z.object({
  id: z.string(),
  title: z.string(),
  size: z.number().int().positive(),
  state: z.enum(["waiting", "formed", "finished", "cancelled", "expired"]),
  verified: z.boolean(),
  seated: z.number().int().nonnegative(),
  expiresAt: z.string(),
});
export type BoardRequestStatus = z.infer<typeof requestStatusSchema>;

export const postResponseSchema = z.object({
  id: z.string(),
  statusToken: z.string(),
  statusPath: z.string(),
  expiresAt: z.string(),
});

/**
 * What a job host attaching to its request serves, and to whom: the challenge at
 * `challengePath(id)` on its worker onion, to a client holding `clientAuth` (the board's own
 * key; null when the board takes onions on trust and never fetches).
 */
export const attachResponseSchema = z.object({
  requestId: z.string(),
  challenge: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  clientAuth: z
    .string()
    .regex(/^[A-Z2-7]{52}$/)
    .nullable(),
});
export type BoardAttachment = z.infer<typeof attachResponseSchema>;

/** Where the board fetches a request's challenge on its job host's onion. */
export function challengePath(requestId: string): string {
  return `/.well-known/tormr-board/${encodeURIComponent(requestId)}`;
}

export const clusterMemberSchema = z.object({
  pseudonym: z.string(),
  keys: boardWorkerKeysSchema,
  /** SHA-256 (hex) of the ticket the board gave this worker: the job host admits exactly these. */
  ticketHash: z.string().regex(/^[0-9a-f]{64}$/),
  /**
   * Its coarse registration epoch (6-hour windows): replicas of a task go to workers of different
   * epochs, a cheap diversity against pseudonyms registered together (#8).
   */
  epoch: z.number().int().nonnegative(),
});
export type BoardClusterMember = z.infer<typeof clusterMemberSchema>;
export const clusterResponseSchema = z.array(clusterMemberSchema);

export const ticketHashesSchema = z.object({
  /** Members by their tickets' hashes: admitted (let into the onion), or lost (seats to free). */
  ticketHashes: z
    .array(z.string().regex(/^[0-9a-f]{64}$/))
    .min(1)
    .max(1024),
});

/** Why a job host reports a member: its result was outvoted by replicas, or failed a check. */
export const reportReasonSchema = z.enum(["replica-mismatch", "spot-check", "decoy"]);
export type ReportReason = z.infer<typeof reportReasonSchema>;

export const reportSchema = z
  .object({
    /** The reported members, by their tickets' hashes. */
    ticketHashes: ticketHashesSchema.shape.ticketHashes,
    reason: reportReasonSchema,
  })
  .strict();

/** How many of the reported members this report lowered (each at most once per request). */
export const reportResponseSchema = z.object({ lowered: z.number().int().nonnegative() });

export const okSchema = z.object({ ok: z.literal(true) });

/** A status link, `http://<board>.onion/status/<token>`: the board's URL and the token. */
export function parseStatusLink(link: string): { board: string; token: string } {
  let url: URL;
  try {
    url = new URL(link.trim());
  } catch {
    throw new Error("expected a status link such as http://<board>.onion/status/<token>");
  }
  const match = /^\/status\/([A-Za-z0-9_-]{43})\/?$/.exec(url.pathname);
  if (url.protocol !== "http:" || !match?.[1]) {
    throw new Error(
      `expected a status link such as http://<board>.onion/status/<token>, got ${url.protocol}//${url.host}${url.pathname.replace(/[A-Za-z0-9_-]{20,}/g, "…")}`,
    );
  }
  return { board: url.origin, token: match[1] };
}

/** What a board says of itself: the onion stamps and pseudonyms are bound to, and the stamp work it asks. */
export const boardInfoSchema = z.object({
  v,
  onion: z.string().regex(/^[a-z2-7]{56}$/),
  registerBits: z.number().int().min(0).max(28),
  postBits: z.number().int().min(0).max(28),
});
export type BoardInfo = z.infer<typeof boardInfoSchema>;

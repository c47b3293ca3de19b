// The board's volunteer API: registering under a per-board pseudonym, long-polling for a seat, heartbeats, leaving (zod schemas).
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

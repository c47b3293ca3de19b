// The job host's worker API: joining a job, the task loop, heartbeats and results (zod schemas, paths, errors).
import { z } from "zod";
import { canonicalJson } from "./_canonical-json.ts";
import { errorBodySchema } from "./store-api.ts";
import { sealedOutputSchema, taskExchangeSchema, workerKeysSchema } from "./task-exchange.ts";
import { PROTOCOL_VERSION } from "./version.ts";

/** Every path of the worker API. The bucket store (`/buckets/…`) shares its listener. */
export const WORKER_PATHS = {
  challenge: "/v1/join/challenge",
  join: "/v1/join",
  next: "/v1/tasks/next",
  leave: "/v1/leave",
  /** `/v1/attempts/<attemptId>/heartbeat` */
  heartbeat: (attemptId: string) => `/v1/attempts/${encodeURIComponent(attemptId)}/heartbeat`,
  /** `/v1/attempts/<attemptId>/result` */
  result: (attemptId: string) => `/v1/attempts/${encodeURIComponent(attemptId)}/result`,
  /** `/v1/code/<sha256 hex>`: the job's code bundle, a tar file. */
  code: (digest: string) => `/v1/code/${digest}`,
} as const;

const v = z.literal(PROTOCOL_VERSION);
const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "expected base64url");
export const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "expected a sha256 hex digest");
/** What the board hands a worker, and `tormr host` prints: 32 random bytes, base64url. */
export const joinTicketSchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "expected a join ticket");
export const attemptIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, "expected an attempt id");

/**
 * The job as a worker sees it: the commands and settings, never the requester's paths.
 * `files` and `module` name entries of the code bundle.
 */
export const workerJobSchema = z.object({
  id: z.string().regex(/^job_[0-9A-Za-z]+_[0-9]{4,}$/),
  task: z.discriminatedUnion("kind", [
    z.object({
      kind: z.literal("streaming"),
      mapper: z.string().min(1),
      combiner: z.string().min(1).optional(),
      reducer: z.string().min(1).optional(),
    }),
    z.object({ kind: z.literal("js"), module: z.string().min(1) }),
  ]),
  numReduceTasks: z.number().int().min(0),
  files: z.array(z.string().min(1)),
  cmdenv: z.record(z.string(), z.string()),
  conf: z.record(z.string(), z.string()),
  /** sha256 of the code bundle: the worker checks it before it runs anything. */
  codeDigest: sha256Hex,
  codeBytes: z.number().int().nonnegative(),
  /** The sandbox image the job's programs run in, e.g. `tormr/python:<hash>`. */
  image: z.string().min(1),
});
export type WorkerJob = z.infer<typeof workerJobSchema>;

// 1. Join: ask for a challenge with the ticket, check the job, sign, join.
export const challengeRequestSchema = z.object({ v, ticket: joinTicketSchema });
export const challengeResponseSchema = z.object({
  v,
  challenge: base64url,
  /** Shown to the volunteer, and checked against the allow-list, before the worker joins. */
  job: workerJobSchema,
});

/**
 * The bytes a worker signs with its Ed25519 key to join: bound to the ticket, challenge and its keys,
 * and to its Tor client-authorization key when it sends one, so nobody can swap in their own.
 */
export function joinStatement(
  ticket: string,
  challenge: string,
  keys: WorkerKeysWire,
  clientAuth?: string,
): Buffer {
  const tor = clientAuth === undefined ? "" : `\ntor-client-auth:${clientAuth}`;
  return Buffer.from(
    `tormr-join/v${PROTOCOL_VERSION}\n${ticket}\n${challenge}\n${keys.signing}\n${keys.wrapping}${tor}`,
  );
}
type WorkerKeysWire = z.infer<typeof workerKeysSchema>;

export const joinRequestSchema = z.object({
  v,
  ticket: joinTicketSchema,
  challenge: base64url,
  keys: workerKeysSchema,
  /**
   * Over Tor: the public half (52 base32 characters, rend-spec-v3 appendix G) of the x25519 key
   * this worker's tor uses for v3 client authorization. The job host restricts its onion to the
   * keys of its workers. A key of its own, never the wrapping key: tor keeps it in its state.
   */
  clientAuth: z
    .string()
    .regex(/^[A-Z2-7]{52}$/, "expected 52 base32 characters (an x25519 public key)")
    .optional(),
  /** Ed25519 signature (base64url) over `joinStatement(ticket, challenge, keys, clientAuth)`. */
  signature: base64url,
  /** What the worker can run: shown to the requester, used to size tasks. */
  capabilities: z.object({
    sandbox: z.enum(["docker", "bwrap", "none"]),
    slots: z.number().int().min(1).max(64),
    memoryBytes: z.number().int().positive(),
  }),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinResponseSchema = z.object({
  v,
  /** Bearer token for every later call of this worker. */
  session: base64url,
  pseudonym: z.string(),
  job: workerJobSchema,
  /** The job host's grant-signing Ed25519 public key (base64url). */
  grantKey: base64url,
  /** How often a running attempt must heartbeat, and after how long silence it is lost. */
  heartbeatMs: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
  /** How long `next` holds a request open when there is no task. */
  pollMs: z.number().int().positive(),
});
export type JoinResponse = z.infer<typeof joinResponseSchema>;

// 2. The task loop.
export const nextRequestSchema = z.object({ v });
export const assignmentSchema = z.object({
  attemptId: attemptIdSchema,
  type: z.enum(["map", "reduce"]),
  /** The split (map) or partition (reduce). */
  index: z.number().int().nonnegative(),
  attempt: z.number().int().nonnegative(),
  /**
   * Map: each segment's input file name and byte range, for `mapreduce_map_input_file`,
   * `…_start` and `…_length`. Only the file's base name: the requester's folders stay hers.
   */
  segments: z.array(
    z.object({
      name: z.string(),
      start: z.number().int().nonnegative(),
      length: z.number().int().nonnegative(),
    }),
  ),
  exchange: taskExchangeSchema,
});
export type Assignment = z.infer<typeof assignmentSchema>;
export const nextResponseSchema = z.object({
  v,
  /** `task` when there is one; `wait` to ask again; `done` when the job is over for this worker. */
  state: z.enum(["task", "wait", "done"]),
  task: assignmentSchema.optional(),
  /** Why `done`: the job succeeded, failed, was cancelled, or this worker was removed. */
  reason: z.string().optional(),
});
export type NextResponse = z.infer<typeof nextResponseSchema>;

export const heartbeatRequestSchema = z.object({
  v,
  status: z.string().max(1000).optional(),
  bytesIn: z.number().int().nonnegative().optional(),
  bytesOut: z.number().int().nonnegative().optional(),
});
export const heartbeatResponseSchema = z.object({
  v,
  /** Stop this attempt: another won, the job ended, or the attempt was declared lost. */
  cancel: z.boolean(),
  reason: z.string().optional(),
});

export const sandboxRecordSchema = z.object({
  kind: z.enum(["docker", "bwrap", "none"]),
  containerId: z.string().max(200).optional(),
});
export type SandboxRecord = z.infer<typeof sandboxRecordSchema>;

const counterRecordSchema = z.record(z.string(), z.record(z.string(), z.number()));

// 3. Signed results: what a worker vouches for about an attempt that succeeded.

/** A bucket a task read: its id, and the SHA-256 of the ciphertext the worker downloaded. */
export const readBucketSchema = z.object({ id: z.string().min(1), digest: sha256Hex });
export type ReadBucket = z.infer<typeof readBucketSchema>;

/**
 * The fields of a result statement. `inputs` are every bucket the task read, in the order its
 * grant listed them (a map's split segments; a reduce's partition of each map, by map index);
 * `outputs` each bucket it wrote, with its ciphertext SHA-256 and the plaintext bytes and records
 * it declared; `code` the SHA-256 of the code bundle it ran.
 */
export const resultClaimsSchema = z.object({
  job: z.string().min(1),
  task: z.string().regex(/^[mr][0-9]+$/, "expected a task name such as m3 or r0"),
  attempt: z.number().int().nonnegative(),
  attemptId: attemptIdSchema,
  code: sha256Hex,
  inputs: z.array(readBucketSchema),
  outputs: z.array(
    z.object({
      id: z.string().min(1),
      digest: sha256Hex,
      bytes: z.number().int().nonnegative(),
      records: z.number().int().nonnegative(),
    }),
  ),
  counters: counterRecordSchema,
  outputRecords: z.number().int().nonnegative(),
});
export type ResultClaims = z.infer<typeof resultClaimsSchema>;

/**
 * The first line of every result statement. A format of its own, not the protocol version: a
 * statement is kept (in `_PROVENANCE.json`) long after the peers that made it are upgraded.
 */
export const RESULT_STATEMENT_FORMAT = "tormr-result/1";

/**
 * The bytes a worker signs with its Ed25519 key when an attempt succeeds: the format line, then
 * the claims as canonical JSON (RFC 8785), so the same claims give the same bytes whatever order
 * their fields came in. Only the fields of `resultClaimsSchema` are signed; any other is dropped.
 */
export function resultStatement(claims: ResultClaims): Buffer {
  const signed = {
    job: claims.job,
    task: claims.task,
    attempt: claims.attempt,
    attemptId: claims.attemptId,
    code: claims.code,
    inputs: claims.inputs.map(({ id, digest }) => ({ id, digest })),
    outputs: claims.outputs.map(({ id, digest, bytes, records }) => ({
      id,
      digest,
      bytes,
      records,
    })),
    counters: claims.counters,
    outputRecords: claims.outputRecords,
  };
  return Buffer.from(`${RESULT_STATEMENT_FORMAT}\n${canonicalJson(signed)}`, "utf8");
}

/**
 * The claims of a statement made by `resultStatement`, read back from its text (the job host
 * keeps the text of each committed attempt's statement).
 * @throws Error when it does not start with the format line, or its claims do not parse.
 */
export function parseResultStatement(text: string): ResultClaims {
  const prefix = `${RESULT_STATEMENT_FORMAT}\n`;
  if (!text.startsWith(prefix)) {
    throw new Error(`a result statement starts with the line ${RESULT_STATEMENT_FORMAT}`);
  }
  return resultClaimsSchema.parse(JSON.parse(text.slice(prefix.length)));
}

export const resultRequestSchema = z.discriminatedUnion("outcome", [
  z.object({
    v,
    outcome: z.literal("succeeded"),
    outputs: z.array(sealedOutputSchema),
    counters: counterRecordSchema,
    outputRecords: z.number().int().nonnegative(),
    sandbox: sandboxRecordSchema,
    /**
     * The buckets it read, with the SHA-256 of what it downloaded. Optional in the schema only so
     * that a worker from before signed results gets ERR_BAD_RESULT saying so, not ERR_BAD_MESSAGE.
     */
    inputs: z.array(readBucketSchema).optional(),
    /**
     * Ed25519 signature (base64url) by the worker's signing key over `resultStatement(claims)`,
     * the claims being this attempt (job, task, number, id), the job's code digest, `inputs`,
     * `outputs`, `counters` and `outputRecords`. The job host commits nothing it cannot verify.
     */
    signature: base64url.optional(),
  }),
  z.object({
    v,
    outcome: z.literal("failed"),
    error: z.object({
      code: z.string().max(100),
      message: z.string().max(4000),
      exitCode: z.number().int().nullable(),
      stderrTail: z.string().max(16_000),
      /** The sandbox's reason for a kill: memory, pids, cpu, timeout. */
      reason: z.string().max(100).optional(),
    }),
    sandbox: sandboxRecordSchema,
  }),
  /** The worker is shutting down and gives the attempt back: it does not count as a failure. */
  z.object({ v, outcome: z.literal("returned") }),
]);
export type ResultRequest = z.infer<typeof resultRequestSchema>;
export const resultResponseSchema = z.object({
  v,
  /** For a success: did this attempt's output win its task? A speculative loser gets false. */
  committed: z.boolean(),
});

export const leaveRequestSchema = z.object({ v });
export const okResponseSchema = z.object({ v });

/** Every worker API error: the store's error body (a stable code and a message). */
export const workerErrorSchema = errorBodySchema;

/** Stable codes of the worker API's refusals. */
export type WorkerApiCode =
  | "ERR_BAD_MESSAGE"
  | "ERR_PROTOCOL_VERSION"
  | "ERR_TICKET"
  | "ERR_CHALLENGE"
  | "ERR_SIGNATURE"
  | "ERR_SESSION"
  | "ERR_WORKER_REMOVED"
  | "ERR_UNKNOWN_ATTEMPT"
  | "ERR_NOT_YOUR_ATTEMPT"
  | "ERR_ATTEMPT_OVER"
  | "ERR_BAD_RESULT"
  | "ERR_NOT_FOUND"
  | "ERR_TOO_LARGE";

// The job host's admin API on the wire: what each endpoint takes and answers, shared by the job host and its clients (the CLI, the requester console).
import { z } from "zod";

// 1. Errors.

/** Every refusal: a stable code (ERR_NO_JOB, ERR_BAD_JOB_SPEC, ERR_UPLOADS_CLOSED…) and a message naming the problem. */
export const adminErrorSchema = z.object({ code: z.string(), message: z.string() });
export type AdminErrorBody = z.infer<typeof adminErrorSchema>;

// 2. Jobs.

const count = z.number().int().nonnegative();
const instant = z.iso.datetime();

/** preparing (sealing its splits) | running | succeeded | failed | cancelled. */
export const jobStateSchema = z.enum(["preparing", "running", "succeeded", "failed", "cancelled"]);
export type JobState = z.infer<typeof jobStateSchema>;

/** `GET /admin/jobs`: newest first. */
export const jobListEntrySchema = z.object({
  id: z.string(),
  state: jobStateSchema,
  createdAt: instant,
  finishedAt: instant.nullable(),
});
export type JobListEntry = z.infer<typeof jobListEntrySchema>;
export const jobListSchema = z.object({ jobs: z.array(jobListEntrySchema) });

/** `POST /admin/jobs`. */
export const createJobRequestSchema = z.object({
  /** A JobSpec as the engine takes it, with paths on the job host's disk (uploads' `path`s). */
  spec: z.unknown(),
  /** `tormr/python` (default for streaming) or `tormr/node` (default for JS jobs). */
  image: z.string().min(1).optional(),
  /** Join tickets to make now. */
  tickets: z.number().int().min(0).max(1000).default(0),
  /**
   * The cluster size the requester expects. Under an exposure cap (`tormr.exposure.cap`), a
   * cluster too small to keep to it is refused (ERR_BAD_CONF, naming the smallest that can).
   */
  workers: z.number().int().min(1).max(100_000).optional(),
});
export type CreateJobRequest = z.input<typeof createJobRequestSchema>;
export const createJobResponseSchema = z.object({
  jobId: z.string(),
  tickets: z.array(z.string()),
});
export type CreateJobResponse = z.infer<typeof createJobResponseSchema>;

export const phaseCountsSchema = z.object({ total: count, committed: count, running: count });
export type PhaseCounts = z.infer<typeof phaseCountsSchema>;

/** Counters grouped as Hadoop groups them: group → name → value. */
export const counterRecordSchema = z.record(z.string(), z.record(z.string(), z.number()));

/** A replica whose output differed from the r that agreed: its result was discarded. */
export const outvotedSchema = z.object({
  task: z.string(),
  attempt: count,
  worker: z.string(),
  reason: z.string(),
  /** Whether the job's board was told (`request.report`). */
  reported: z.boolean(),
});
export type Outvoted = z.infer<typeof outvotedSchema>;

/**
 * A job's replication: `replication` results must agree (on each output's plaintext SHA-256) for
 * a task to commit. `replicas` counts the results compared, `mismatches` the tasks where some
 * result disagreed, and `outvoted` lists each discarded result with its worker.
 */
export const integritySchema = z.object({
  replication: z.number().int().min(1),
  replicas: count,
  mismatches: count,
  outvoted: z.array(outvotedSchema),
});
export type Integrity = z.infer<typeof integritySchema>;

/**
 * A job's spot checks and decoys (`tormr.spotcheck.rate`, `tormr.decoy.rate`): tasks the job host
 * ran again itself, and what came of it. `caught` lists each result a check disproved (its reason
 * names the check); `undone` counts the committed results of caught workers that ran again.
 */
export const checksSchema = z.object({
  /** Real tasks checked: the secret draw, and each worker's first result. */
  spotChecked: count,
  decoys: count,
  /** Checked tasks committed once the job host's own run matched their result. */
  passed: count,
  caught: z.array(outvotedSchema),
  undone: count,
});
export type Checks = z.infer<typeof checksSchema>;

/** `GET /admin/jobs/<id>`, and what `POST …/cancel` answers. */
export const jobStatusSchema = z.object({
  id: z.string(),
  state: jobStateSchema,
  error: z.string().nullable(),
  maps: phaseCountsSchema,
  reduces: phaseCountsSchema,
  /** The committed tasks' counters merged (all of them once the job is over). */
  counters: counterRecordSchema,
  failedAttempts: count,
  workers: z.array(
    z.object({ pseudonym: z.string(), state: z.string(), sandbox: z.string(), lastSeen: instant }),
  ),
  createdAt: instant,
  finishedAt: instant.nullable(),
  /** The latest `reporter:status:` line of a running attempt. */
  status: z.string().optional(),
  /** Replication (`tormr.replication`): what the replicas agreed on, and who was outvoted. */
  integrity: integritySchema.optional(),
  /** Spot checks and decoys: what the job host's own runs caught. */
  checks: checksSchema.optional(),
});
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** One attempt of a task, as `GET /admin/jobs/<id>/tasks` lists them (oldest first). */
export const attemptRecordSchema = z.object({
  id: z.string(),
  task: z.string(),
  number: count,
  worker: z.string(),
  /**
   * running | succeeded | failed | lost | killed | returned; with replication also `agreed` (a
   * result that matched the committed one), `held` (verified, waiting for replicas to agree) and
   * `outvoted` (its output differed from the replicas that agreed).
   */
  state: z.string(),
  speculative: z.boolean(),
  sandbox: z.string().nullable(),
  containerId: z.string().nullable(),
  startedAt: instant,
  finishedAt: instant.nullable(),
  error: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  reason: z.string().nullable(),
  stderrTail: z.string().nullable(),
  /** Plaintext bytes a committed attempt wrote; for others the sealed bytes still in the store, or null. */
  bytesWritten: count.nullable(),
});
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;
export const attemptListSchema = z.object({ attempts: z.array(attemptRecordSchema) });

/** `GET /admin/jobs/<id>/output`: the part files of a succeeded job. */
export const outputPartsSchema = z.object({ parts: z.array(z.string()) });

// 3. Tickets.

const clientAuthKey = z
  .string()
  .regex(/^[A-Z2-7]{52}$/, "expected a Tor client-authorization public key (52 base32 characters)");

/**
 * `POST /admin/jobs/<id>/tickets`: `count` tickets, or one ticket per worker's Tor
 * client-authorization key, or the hashes of tickets a board handed out, each with its worker's key.
 */
export const ticketsRequestSchema = z.union([
  z.object({ count: z.number().int().min(1).max(1000) }).strict(),
  z.object({ clientAuthKeys: z.array(clientAuthKey).min(1).max(1000) }).strict(),
  z
    .object({
      ticketHashes: z
        .array(
          z.object({
            hash: z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 hex digest"),
            clientAuthKey,
            /** The member's coarse registration epoch on its board: replicas spread across epochs. */
            epoch: z.number().int().nonnegative().optional(),
          }),
        )
        .min(1)
        .max(1000),
    })
    .strict(),
]);
export const ticketsResponseSchema = z.object({ tickets: z.array(z.string()) });
export const admittedResponseSchema = z.object({ admitted: count });

// 4. Uploads: `PUT /admin/jobs/<jobId>/uploads/<role>/<name>[?executable=1]`, before the job is created.

/** `input` files are read by the maps; `file`s are shipped to every task (Hadoop's `-file`). */
export const uploadRoleSchema = z.enum(["input", "file"]);
export type UploadRole = z.infer<typeof uploadRoleSchema>;

/** One file name: no slash, no leading dot (hidden names are the job host's temporary files). */
export const uploadNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    "expected a file name of 1 to 128 characters from [A-Za-z0-9._-], not starting with '.', '_' or '-'",
  );

/** What an upload answers: where the file now is on the job host (for the JobSpec), and its size. */
export const uploadResultSchema = z.object({ path: z.string(), bytes: count });
export type UploadResult = z.infer<typeof uploadResultSchema>;

// 5. Exposure: `GET /admin/jobs/<id>/exposure`, who saw how much of the job's data.

export const exposureTotalSchema = z.object({ records: count, bytes: count });
export type ExposureTotal = z.infer<typeof exposureTotalSchema>;
/** A worker's share: the distinct buckets it read (a bucket read twice counts once). */
export const exposureShareSchema = exposureTotalSchema.extend({ buckets: count });
export type ExposureShare = z.infer<typeof exposureShareSchema>;

const fraction = z.number().min(0).max(1);

/**
 * How near one side came to the cap, from the ledger, as shares of its records: the most one
 * worker read, and the most any `collusion` workers read together (their union; exact for small
 * clusters, otherwise a bound that is never less). Equal when `collusion` is 1.
 */
export const exposureReachedSchema = z.object({ maxShare: fraction, maxUnionShare: fraction });
export type ExposureReached = z.infer<typeof exposureReachedSchema>;

/**
 * The job's input (its split buckets) and shuffle (its committed map outputs, what reducers read),
 * and each worker's share of both according to the exposure ledger, sorted by pseudonym. Bytes are
 * plaintext while the job's buckets exist; once the job is over its buckets are gone, and each
 * bucket counts as the largest single read of it in the ledger (sealed bytes served). `cap` is the
 * job's exposure cap (a fraction of records, null for none) and `collusion` how many workers it
 * bounds together; `reached` is what the ledger shows of each side.
 */
export const jobExposureSchema = z.object({
  input: exposureTotalSchema,
  mapOutput: exposureTotalSchema,
  workers: z.array(
    z.object({
      pseudonym: z.string(),
      input: exposureShareSchema,
      mapOutput: exposureShareSchema,
    }),
  ),
  cap: z.number().gt(0).max(1).nullable(),
  collusion: z.number().int().min(1),
  reached: z.object({ input: exposureReachedSchema, mapOutput: exposureReachedSchema }),
});
export type JobExposure = z.infer<typeof jobExposureSchema>;

// 6. The host, and the board requests it follows.

/**
 * `GET /admin/host`: where workers reach the host, its worker onion's service id (56 characters,
 * no ".onion") when it runs with Tor, and its tor's SOCKS listener, which reaches boards.
 */
export const hostInfoSchema = z.object({
  workerUrl: z.string(),
  onion: z
    .string()
    .regex(/^[a-z2-7]{56}$/)
    .nullable(),
  socks: z.object({ host: z.string(), port: z.number().int().min(1).max(65535) }).nullable(),
});
export type HostInfo = z.infer<typeof hostInfoSchema>;

/** A cluster request's status link as the board gave it: the request's capability. */
export const statusLinkSchema = z
  .string()
  .trim()
  .regex(
    /^http:\/\/[^/\s]+\/status\/[A-Za-z0-9_-]{43}\/?$/,
    "expected the status link the board gave, http://<board>.onion/status/<token>",
  );

/** `POST /admin/jobs/<id>/board`: follow this request, admitting its cluster to the job. */
export const followBoardRequestSchema = z.object({ statusLink: statusLinkSchema }).strict();

/**
 * `GET /admin/jobs/<id>/board` (and what the POST answers): the request the host follows, or
 * followed since it started, for this job; `error` says why following it ended early.
 */
export const boardFollowingSchema = z.object({
  statusLink: z.string().nullable(),
  following: z.boolean(),
  error: z.string().nullable(),
});
export type BoardFollowing = z.infer<typeof boardFollowingSchema>;

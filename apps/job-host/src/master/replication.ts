// Replication and quorum (#8, `tormr.replication`): the rules. Each task runs on r distinct workers, spread across registration epochs, and commits once r results agree on each output's plaintext SHA-256.
import { createHash } from "node:crypto";
import { PassThrough, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { open } from "@tormr/crypto/bucket-seal";
import { unwrapKey, wrappedKeyFromString } from "@tormr/crypto/key-wrap";
import type { RawKeyPair } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import { type JobSpec, jobSettings, REPLICATION_KEY } from "@tormr/mapreduce/job-spec";
import { type BucketCodec, decompressStream } from "@tormr/protocol/bucket-codec";
import { unpadStream } from "@tormr/protocol/bucket-padding";
import type { BucketStore } from "../store/bucket-store.ts";
import { storedCompression } from "./job-compression.ts";
import { mapScope, reduceScope } from "./task-grants.ts";

/** Attempt states that hold a result of their task (or held one): a worker gets a task once. */
export const RESULT_STATES = ["running", "held", "agreed", "succeeded", "outvoted"];

/** How many replicas a job wants of each task (1: none). */
export function replicationOf(job: { spec: string }): number {
  return jobSettings(JSON.parse(job.spec) as JobSpec).replication;
}

/** The most results a task may gather before the job gives up on their ever agreeing. */
export function maxResults(replication: number): number {
  return 2 * replication + 1;
}

/** Why a cluster of `workers` cannot give every task r distinct workers, or undefined. */
export function replicationRefusal(replication: number, workers: number | undefined) {
  if (workers === undefined || workers >= replication) return undefined;
  return `-D ${REPLICATION_KEY}=${replication} runs every task on ${replication} different workers, but the cluster has ${workers}; use a cluster of at least ${replication} workers, or fewer replicas`;
}

// 1. Agreement.

/** One verified result of a task: its attempt, worker, and each output's plaintext SHA-256. */
export interface ReplicaResult {
  number: number;
  worker: string;
  digests: readonly string[];
}

/** How a task's results stand: the r that agree (earliest first), if any, and the largest group. */
export interface Tally {
  quorum: ReplicaResult[] | undefined;
  largest: number;
  groups: number;
}

/**
 * Groups results by their digests. A group counts each worker once, so one worker can never
 * agree with itself; the first group (by its earliest attempt) to reach r workers wins.
 */
export function tally(results: readonly ReplicaResult[], replication: number): Tally {
  const groups = new Map<string, ReplicaResult[]>();
  for (const result of [...results].sort((a, b) => a.number - b.number)) {
    const key = result.digests.join(",");
    const group = groups.get(key) ?? [];
    if (!group.some((g) => g.worker === result.worker)) group.push(result);
    groups.set(key, group);
  }
  let largest = 0;
  let quorum: ReplicaResult[] | undefined;
  for (const group of groups.values()) {
    largest = Math.max(largest, group.length);
    if (!quorum && group.length >= replication) quorum = group.slice(0, replication);
  }
  return { quorum, largest, groups: groups.size };
}

/** Why `result` was outvoted by `quorum`: the first output where their plaintexts differ. */
export function outvotedReason(task: string, result: ReplicaResult, quorum: ReplicaResult[]) {
  const agreed = quorum[0] as ReplicaResult;
  const at = agreed.digests.findIndex((d, i) => result.digests[i] !== d);
  const i = at >= 0 ? at : agreed.digests.length;
  const what = task.startsWith("m") ? `partition ${i}` : "part";
  const short = (digest: string | undefined) => (digest ? `${digest.slice(0, 12)}…` : "nothing");
  return `outvoted: ${task}'s ${what} has plaintext SHA-256 ${short(result.digests[i])}, where the ${quorum.length} replicas that agreed (attempts ${quorum.map((q) => q.number).join(", ")}) have ${short(agreed.digests[i])}`;
}

// 2. The Sybil window: replicas go to workers of different registration epochs where they can.

/** A worker, or a worker still to come (an unused ticket), with its board epoch (null: none). */
export interface EpochMember {
  pseudonym: string | null;
  epoch: number | null;
}

/**
 * Whether `candidate` may run a replica of a task beside `replicas` (the workers that ran it or
 * run it). `distinct`: no replica shares its epoch (a worker without one shares with nobody).
 * `refused`: one does, and some other worker, or ticket, of an epoch the task has not had could
 * take it instead. `unavoidable`: one does, and nobody else could.
 */
export function epochWindow(
  candidate: EpochMember,
  replicas: readonly EpochMember[],
  others: readonly EpochMember[],
): "distinct" | "refused" | "unavoidable" {
  if (candidate.epoch === null || !replicas.some((r) => r.epoch === candidate.epoch)) {
    return "distinct";
  }
  const taken = new Set(replicas.map((r) => r.epoch));
  const ran = new Set(replicas.map((r) => r.pseudonym));
  const elsewhere = others.some(
    (o) =>
      o.pseudonym !== candidate.pseudonym &&
      !(o.pseudonym !== null && ran.has(o.pseudonym)) &&
      (o.epoch === null || !taken.has(o.epoch)),
  );
  return elsewhere ? "refused" : "unavoidable";
}

// 3. Plaintext digests: what replicas are compared on (ciphertexts differ, keys are fresh).

/** How a task's output buckets are stored: the job's codec, and whether they are padded. */
export interface OutputFormat {
  codec: BucketCodec;
  /** A map-output partition of a job that pads its shuffle (`tormr.shuffle.padding`). */
  padded: boolean;
}

export function outputFormat(job: { spec: string; reduces: number }, task: string): OutputFormat {
  const spec = JSON.parse(job.spec) as JobSpec;
  const padded = task.startsWith("m") && job.reduces > 0 && jobSettings(spec).shufflePadding;
  return { codec: storedCompression(spec), padded };
}

/** The bucket ids an attempt of `task` wrote, in its grant's order. */
export function outputIdsOf(
  job: { id: string; reduces: number },
  task: string,
  attempt: number,
): string[] {
  const index = Number(task.slice(1));
  return task.startsWith("m")
    ? mapScope(job.id, index, attempt, job.reduces, []).outputIds
    : reduceScope(job.id, index, attempt, []).outputIds;
}

/**
 * Each output's plaintext SHA-256, measured by the job host itself: it opens the ciphertext the
 * worker signed with the key the worker sent, so a worker cannot claim one plaintext and store
 * another. Kept in memory per attempt; after a restart, measured again from the store.
 */
export class ReplicaDigests {
  private readonly known = new Map<string, string[]>();

  constructor(
    private readonly store: BucketStore,
    private readonly wrapping: RawKeyPair,
  ) {}

  /** Measures an attempt's outputs, given their keys (in the grant's order). */
  async measure(
    attemptId: string,
    outputs: Iterable<[string, { key: Buffer; plainBytes?: number | undefined }]>,
    format: OutputFormat,
  ): Promise<string[]> {
    const digests: string[] = [];
    for (const [id, { key, plainBytes }] of outputs) {
      digests.push(await this.plaintextDigest(id, key, plainBytes, format));
    }
    this.known.set(attemptId, digests);
    return digests;
  }

  /** An attempt's digests: as measured, or measured again from its stored buckets' keys. */
  async of(db: JobHostDb, attemptId: string, ids: string[], format: OutputFormat) {
    const known = this.known.get(attemptId);
    if (known) return known;
    const rows = await db.bucket.findMany({
      where: { id: { in: ids } },
      select: { id: true, key: true, plainSize: true },
    });
    const outputs = ids.map((id): [string, { key: Buffer; plainBytes?: number }] => {
      const row = rows.find((r) => r.id === id);
      if (!row?.key) throw new Error(`bucket ${id} of a held replica has no key`);
      const key = unwrapKey(wrappedKeyFromString(row.key), id, this.wrapping);
      return [id, row.plainSize === null ? { key } : { key, plainBytes: Number(row.plainSize) }];
    });
    return this.measure(attemptId, outputs, format);
  }

  forget(attemptId: string): void {
    this.known.delete(attemptId);
  }

  /**
   * Opened, unpadded and decompressed as a reducer opens it: the digest is of the records, never
   * of the codec's bytes or the padding.
   */
  private async plaintextDigest(
    id: string,
    key: Buffer,
    plainBytes: number | undefined,
    { codec, padded }: OutputFormat,
  ): Promise<string> {
    const hash = createHash("sha256");
    const label = `bucket ${id}`;
    await pipeline(
      this.store.readOwn(id),
      open(key, id),
      padded ? unpadStream({ label }) : new PassThrough(),
      decompressStream(codec, {
        ...(plainBytes !== undefined ? { plainBytes } : {}),
        label,
      }),
      new Writable({
        write(chunk: Buffer, _encoding, next) {
          hash.update(chunk);
          next();
        },
      }),
    );
    return hash.digest("hex");
  }
}

// 4. Where a task stands.

/** A task's running attempts and verified results, tallied. */
export async function replicaStanding(
  db: JobHostDb,
  digests: ReplicaDigests,
  job: { id: string; reduces: number; spec: string },
  task: string,
) {
  const replication = replicationOf(job);
  const format = outputFormat(job, task);
  const attempts = await db.attempt.findMany({
    where: { job: job.id, task, state: { in: ["running", "held"] } },
    orderBy: { number: "asc" },
  });
  const held = attempts.filter((a) => a.state === "held");
  const results: ReplicaResult[] = [];
  for (const a of held) {
    const ids = outputIdsOf(job, task, a.number);
    results.push({
      number: a.number,
      worker: a.worker,
      digests: await digests.of(db, a.id, ids, format),
    });
  }
  return {
    replication,
    running: attempts.length - held.length,
    held,
    results,
    tally: tally(results, replication),
  };
}

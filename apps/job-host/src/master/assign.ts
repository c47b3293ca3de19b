// A new attempt of a task for a worker: its row, its grant, and its input keys wrapped to that worker (never one past the job's exposure cap).
import { randomBytes } from "node:crypto";
import { unwrapKey, wrappedKeyFromString } from "@tormr/crypto/key-wrap";
import type { JobHostDb } from "@tormr/db/job-host";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import type { WorkerKeys } from "@tormr/protocol/task-exchange";
import type { Assignment } from "@tormr/protocol/worker-api";
import { type HostSplit, reduceInputs, shownSegments } from "./decoys.ts";
import { storedCompression } from "./job-compression.ts";
import { fitsBudget, loadBudget } from "./scheduler.ts";
import {
  type GrantAuthority,
  type HeldBucket,
  issueTask,
  mapScope,
  reduceScope,
} from "./task-grants.ts";

/**
 * Records the attempt and issues its grant. A grant is the exposure budget's promise: one that
 * would take the worker (or any k with it) past the job's cap is never issued, whoever asked.
 * @throws Error when the scheduler picked a task past the cap (a bug: nothing is issued).
 */
export async function assignAttempt(
  db: JobHostDb,
  authority: GrantAuthority,
  job: { id: string; maps: number; reduces: number; splits: string; spec: string },
  worker: { pseudonym: string; signingKey: string; wrappingKey: string },
  taskName: string,
  speculative: boolean,
): Promise<Assignment> {
  const task = await db.task.findUniqueOrThrow({
    where: { job_name: { job: job.id, name: taskName } },
  });
  const budget = await loadBudget(db, job);
  if (budget && !fitsBudget(budget, worker.pseudonym, taskName)) {
    throw new Error(
      `refused to grant ${taskName} of ${job.id} to ${worker.pseudonym}: it would pass the job's exposure cap`,
    );
  }
  const last = await db.attempt.findFirst({
    where: { job: job.id, task: taskName },
    orderBy: { number: "desc" },
    select: { number: true },
  });
  const number = (last?.number ?? -1) + 1;
  const scope =
    task.kind === "map"
      ? mapScope(job.id, task.index, number, job.reduces, await splitIds(db, job.id, task.index))
      : reduceScope(job.id, task.index, number, await mapOutputIds(db, job.id, task.index));
  const held = await heldBuckets(db, authority, scope.inputs);
  const workerKeys: WorkerKeys = { signing: worker.signingKey, wrapping: worker.wrappingKey };
  const compression = storedCompression(JSON.parse(job.spec) as JobSpec);
  const taskJob = { id: job.id, compression };
  const issued = await issueTask(authority, taskJob, workerKeys, number, scope, (id) => {
    const bucket = held.get(id);
    if (!bucket) throw new Error(`no key held for bucket ${id}`);
    return bucket;
  });
  const attemptId = randomBytes(12).toString("base64url");
  await db.$transaction([
    db.attempt.create({
      data: {
        id: attemptId,
        job: job.id,
        task: taskName,
        number,
        worker: worker.pseudonym,
        state: "running",
        speculative,
        grantJti: issued.claims.jti,
        grantExp: new Date(issued.claims.exp * 1000),
      },
    }),
    db.task.update({
      where: { job_name: { job: job.id, name: taskName } },
      data: { state: "running" },
    }),
  ]);
  const split = task.kind === "map" ? splitOf(job, task.index) : undefined;
  // A decoy's segments are shown as the real file ranges it imitates.
  const segments = split ? shownSegments(split) : [];
  return {
    attemptId,
    type: task.kind === "map" ? "map" : "reduce",
    index: task.index,
    attempt: number,
    segments,
    exchange: issued.exchange,
  };
}

function splitOf(job: { splits: string }, index: number): HostSplit | undefined {
  return (JSON.parse(job.splits) as HostSplit[])[index];
}

async function splitIds(db: JobHostDb, jobId: string, map: number): Promise<string[]> {
  const rows = await db.bucket.findMany({
    where: { job: jobId, id: { startsWith: `j/${jobId}/split/${map}/` } },
    select: { id: true },
  });
  return rows.map((r) => r.id).sort((a, b) => segmentOf(a) - segmentOf(b));
}

/** Partition `partition` of every real map's committed output. */
async function mapOutputIds(db: JobHostDb, jobId: string, partition: number): Promise<string[]> {
  return (await reduceInputs(db, jobId, partition)).map(({ map, id }) => {
    if (!id) throw new Error(`${map} has no committed output`);
    return id;
  });
}

async function heldBuckets(
  db: JobHostDb,
  authority: GrantAuthority,
  ids: string[],
): Promise<Map<string, HeldBucket>> {
  const rows = await db.bucket.findMany({
    where: { id: { in: ids } },
    select: { id: true, key: true, plainSize: true },
  });
  const held = new Map<string, HeldBucket>();
  for (const row of rows) {
    if (!row.key) continue;
    held.set(row.id, {
      key: unwrapKey(wrappedKeyFromString(row.key), row.id, authority.wrapping),
      // Rows from before compression have no plaintext size: then only the seal bounds the read.
      plainBytes: row.plainSize === null ? undefined : Number(row.plainSize),
    });
  }
  return held;
}

function segmentOf(id: string): number {
  return Number(id.slice(id.lastIndexOf("/") + 1));
}

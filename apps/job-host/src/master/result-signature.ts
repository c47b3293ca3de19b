// A successful result's signature: checked against the key its worker joined with, and its signed inputs against what the grant named.
import { verifyEd25519 } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import {
  type ReadBucket,
  type ResultClaims,
  type ResultRequest,
  resultStatement,
  type WorkerJob,
} from "@tormr/protocol/worker-api";
import { reduceInputs } from "./decoys.ts";
import { BadResult } from "./task-grants.ts";

export type SucceededResult = Extract<ResultRequest, { outcome: "succeeded" }>;

/** What the job host keeps of a committed attempt: the exact statement text and its signature. */
export interface SignedResult {
  statement: string;
  signature: string;
}

/**
 * Rebuilds the attempt's result statement from the attempt as the job host gave it (job, task,
 * number, id, the job's code) and the result as the worker sent it, and checks the worker's
 * signature over it with the signing key it joined with. Then checks that the inputs it signed
 * are the buckets its grant named, in order, with the digests the store holds for them.
 * @throws BadResult naming what does not hold up: nothing is committed.
 */
export async function verifyResult(
  db: JobHostDb,
  job: { id: string; workerJob: string },
  attempt: { id: string; task: string; number: number; worker: string },
  result: SucceededResult,
): Promise<SignedResult> {
  if (result.signature === undefined || result.inputs === undefined) {
    throw new BadResult(
      `${attempt.task}: the result is not signed (a worker from before signed results); upgrade tormr-worker`,
    );
  }
  const worker = await db.worker.findUniqueOrThrow({
    where: { job_pseudonym: { job: job.id, pseudonym: attempt.worker } },
    select: { signingKey: true },
  });
  const claims: ResultClaims = {
    job: job.id,
    task: attempt.task,
    attempt: attempt.number,
    attemptId: attempt.id,
    code: (JSON.parse(job.workerJob) as WorkerJob).codeDigest,
    inputs: result.inputs,
    outputs: result.outputs,
    counters: result.counters,
    outputRecords: result.outputRecords,
  };
  const statement = resultStatement(claims);
  if (!verifyEd25519(worker.signingKey, statement, result.signature)) {
    throw new BadResult(
      `${attempt.task}: the result's signature does not verify with the signing key worker ${attempt.worker} joined with`,
    );
  }
  const granted = await grantedInputs(db, job.id, attempt.task);
  const signed = result.inputs;
  const mismatch = granted.findIndex(
    (g, i) => signed[i]?.id !== g.id || signed[i]?.digest !== g.digest,
  );
  if (signed.length !== granted.length || mismatch >= 0) {
    const at = mismatch >= 0 ? mismatch : Math.min(signed.length, granted.length);
    throw new BadResult(
      `${attempt.task}: input ${at} of the signed result is ${named(signed[at])}, but the grant named ${named(granted[at])}`,
    );
  }
  return { statement: statement.toString("utf8"), signature: result.signature };
}

const named = (bucket: ReadBucket | undefined) =>
  bucket ? `${bucket.id} (SHA-256 ${bucket.digest.slice(0, 12)}…)` : "nothing";

/**
 * The buckets an attempt of `task` was granted, in the grant's order, with their stored digests:
 * a map's split segments; a reduce's partition of each committed map output, by map index.
 */
async function grantedInputs(db: JobHostDb, jobId: string, task: string): Promise<ReadBucket[]> {
  const index = Number(task.slice(1));
  let ids: string[];
  if (task.startsWith("m")) {
    const prefix = `j/${jobId}/split/${index}/`;
    const rows = await db.bucket.findMany({
      where: { job: jobId, id: { startsWith: prefix } },
      select: { id: true },
    });
    ids = rows.map((r) => r.id).sort((a, b) => segmentOf(a) - segmentOf(b));
  } else {
    ids = (await reduceInputs(db, jobId, index)).map((m) => m.id ?? "");
  }
  const rows = await db.bucket.findMany({
    where: { id: { in: ids } },
    select: { id: true, digest: true },
  });
  const digests = new Map(rows.map((r) => [r.id, r.digest]));
  return ids.map((id) => ({ id, digest: digests.get(id) ?? "" }));
}

function segmentOf(id: string): number {
  return Number(id.slice(id.lastIndexOf("/") + 1));
}

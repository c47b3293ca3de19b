// How an attempt ends: a success is checked and committed (first wins), anything else re-queues its task and counts against it.
import { wrapKey, wrappedKeyToString } from "@tormr/crypto/key-wrap";
import type { JobHostDb } from "@tormr/db/job-host";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import type { BucketStore } from "../store/bucket-store.ts";
import { MasterError } from "./master-error.ts";
import { type SignedResult, type SucceededResult, verifyResult } from "./result-signature.ts";
import type { MasterSettings } from "./settings.ts";
import {
  BadResult,
  checkOutputs,
  type GrantAuthority,
  type HeldBucket,
  mapScope,
  reduceScope,
} from "./task-grants.ts";

/** What ending an attempt needs of the master. */
export interface AttemptContext {
  db: JobHostDb;
  store: BucketStore;
  authority: GrantAuthority;
  settings: MasterSettings;
  log: (event: Record<string, unknown>) => void;
  /** Ends the job as failed, with this message. */
  fail: (jobId: string, error: string) => Promise<void>;
  /** Finishes the job if every task is committed. */
  maybeFinish: (jobId: string) => Promise<void>;
}

async function jobRow(db: JobHostDb, jobId: string) {
  return db.job.findUniqueOrThrow({ where: { id: jobId } });
}

/**
 * Commits a successful attempt, first come first served, once its worker's signature verifies
 * and its outputs are in the store as reported. The signed statement is kept with the attempt.
 * @throws MasterError `ERR_BAD_RESULT` (the attempt fails, nothing is committed).
 */
export async function commitAttempt(
  ctx: AttemptContext,
  attempt: { id: string; job: string; task: string; number: number; worker: string },
  result: SucceededResult,
): Promise<boolean> {
  const { outputs, counters } = result;
  const job = await jobRow(ctx.db, attempt.job);
  const task = await ctx.db.task.findUniqueOrThrow({
    where: { job_name: { job: attempt.job, name: attempt.task } },
  });
  const scope =
    task.kind === "map"
      ? mapScope(job.id, task.index, attempt.number, job.reduces, [])
      : reduceScope(job.id, task.index, attempt.number, []);
  let keys: Map<string, HeldBucket>;
  let signed: SignedResult;
  try {
    signed = await verifyResult(ctx.db, job, attempt, result);
    keys = await checkOutputs(
      ctx.store,
      ctx.authority.wrapping,
      attempt.task,
      scope.outputIds,
      outputs,
    );
  } catch (error) {
    if (!(error instanceof BadResult)) throw error;
    await endAttempt(ctx, attempt, "failed", error.message);
    throw new MasterError("ERR_BAD_RESULT", error.message);
  }
  const winner = await ctx.store.commit(job.id, attempt.task, attempt.number);
  if (winner !== attempt.number) {
    await endAttempt(ctx, attempt, "killed", "another attempt of its task won");
    return false;
  }
  let bytesWritten = 0n;
  for (const [id, { key, plainBytes }] of keys) {
    bytesWritten += BigInt(plainBytes ?? 0);
    await ctx.db.bucket.update({
      where: { id },
      data: {
        key: wrappedKeyToString(wrapKey(key, id, ctx.authority.wrapping.publicKey)),
        plainSize: plainBytes === undefined ? null : BigInt(plainBytes),
      },
    });
  }
  await ctx.db.task.update({
    where: { job_name: { job: job.id, name: attempt.task } },
    data: {
      state: "committed",
      committedAttempt: attempt.number,
      outputs: JSON.stringify(scope.outputIds),
      counters: JSON.stringify(counters),
    },
  });
  await ctx.db.attempt.update({
    where: { id: attempt.id },
    data: {
      bytesWritten,
      resultStatement: signed.statement,
      resultSignature: signed.signature,
    },
  });
  await endAttempt(ctx, attempt, "succeeded");
  await ctx.db.worker.updateMany({
    where: { job: job.id, pseudonym: attempt.worker },
    data: { failureRun: 0 },
  });
  // The losers of a speculative race stop now: their grants die, their next heartbeat says cancel.
  const others = await ctx.db.attempt.findMany({
    where: { job: job.id, task: attempt.task, state: "running" },
  });
  for (const other of others)
    await endAttempt(ctx, other, "killed", "another attempt of its task won");
  await ctx.maybeFinish(job.id);
  return true;
}

/**
 * Ends an attempt: its state, its grant revoked, and its task back to pending unless another
 * attempt still runs or it is committed. A failure counts against the task and the worker.
 */
export async function endAttempt(
  ctx: AttemptContext,
  attempt: {
    id: string;
    job: string;
    task: string;
    worker: string;
    grantJti?: string;
    grantExp?: Date;
  },
  state: "succeeded" | "failed" | "lost" | "killed" | "returned",
  message?: string,
): Promise<void> {
  const row = await ctx.db.attempt.update({
    where: { id: attempt.id },
    data: { state, finishedAt: new Date(), ...(message ? { error: message } : {}) },
  });
  await ctx.store.revoke(
    { jti: row.grantJti, job: row.job, exp: Math.floor(row.grantExp.getTime() / 1000) },
    `attempt ${state}`,
  );
  ctx.log({
    event: `attempt-${state}`,
    job: row.job,
    task: row.task,
    attempt: row.number,
    worker: row.worker,
    ...(message ? { message } : {}),
  });
  if (state === "succeeded" || state === "killed") return;
  const stillRunning = await ctx.db.attempt.count({
    where: { job: row.job, task: row.task, state: "running" },
  });
  const task = await ctx.db.task.update({
    where: { job_name: { job: row.job, name: row.task } },
    data: {
      ...(state === "failed" ? { failures: { increment: 1 } } : { losses: { increment: 1 } }),
    },
  });
  if (task.state !== "committed" && stillRunning === 0) {
    await ctx.db.task.update({
      where: { job_name: { job: row.job, name: row.task } },
      data: { state: "pending" },
    });
  }
  if (state === "failed") {
    const worker = await ctx.db.worker.update({
      where: { job_pseudonym: { job: row.job, pseudonym: row.worker } },
      data: { failureRun: { increment: 1 } },
    });
    if (worker.failureRun >= ctx.settings.workerMaxFailures && worker.state === "active") {
      await ctx.db.worker.update({
        where: { job_pseudonym: { job: row.job, pseudonym: row.worker } },
        data: { state: "removed" },
      });
      ctx.log({
        event: "worker-removed",
        job: row.job,
        worker: row.worker,
        failures: worker.failureRun,
      });
    }
    // Out of space is no task's fault: retrying elsewhere cannot help, so the job ends now, on the
    // word of the job host's own store (never on a worker's report alone).
    const space = ctx.store.spaceRefusal(row.job);
    if (space && task.state !== "committed") {
      await ctx.fail(
        row.job,
        `${space.message}. Free some space or raise the quota, then run the job again`,
      );
      return;
    }
    const job = await jobRow(ctx.db, row.job);
    const settings = jobSettings(JSON.parse(job.spec) as JobSpec);
    const max = task.kind === "map" ? settings.mapMaxAttempts : settings.reduceMaxAttempts;
    if (task.state !== "committed" && task.failures >= max) {
      await ctx.fail(
        row.job,
        `${row.task} failed ${task.failures} times; attempt ${row.number}: ${message ?? "failed"}${row.stderrTail?.trim() ? `\nlast stderr:\n${row.stderrTail.trimEnd()}` : ""}`,
      );
    }
  } else if (task.state !== "committed" && task.losses >= ctx.settings.maxLosses) {
    await ctx.fail(row.job, `${row.task} lost its worker ${task.losses} times`);
  }
}

// How an attempt ends: a success is checked and committed (first wins, or under replication the first r that agree), anything else re-queues its task and counts against it.
import { wrapKey, wrappedKeyToString } from "@tormr/crypto/key-wrap";
import type { JobHostDb } from "@tormr/db/job-host";
import type { CounterRecord } from "@tormr/mapreduce/counters";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import { parseResultStatement } from "@tormr/protocol/worker-api";
import type { BucketStore } from "../store/bucket-store.ts";
import { settleChecked } from "./check-end.ts";
import { MasterError } from "./master-error.ts";
import {
  maxResults,
  outputFormat,
  outputIdsOf,
  outvotedReason,
  type ReplicaDigests,
  type ReplicaResult,
  replicaStanding,
  replicationOf,
} from "./replication.ts";
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
  /** The plaintext digests replicas are compared on. */
  digests: ReplicaDigests;
  /** Starts (once) the job host's own run of a checked task; its end settles the task. */
  startCheck: (jobId: string, task: string) => void;
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
  if (replicationOf(job) > 1) return settleReplica(ctx, job, attempt, keys, signed);
  if (task.checkKind || (await onProbation(ctx, job, attempt))) {
    return settleChecked(ctx, job, attempt, keys, signed);
  }
  const winner = await ctx.store.commit(job.id, attempt.task, attempt.number);
  if (winner !== attempt.number) {
    await endAttempt(ctx, attempt, "killed", "another attempt of its task won");
    return false;
  }
  await keepResult(ctx, attempt, keys, signed);
  await commitWinner(ctx, job.id, attempt, scope.outputIds, counters);
  await ctx.maybeFinish(job.id);
  return true;
}

/**
 * Under spot checks, a worker's first result in a job is always checked (as BOINC checks a new
 * host's first results): a worker that cheats from the start is caught at once. Its task becomes
 * a checked one.
 */
async function onProbation(
  ctx: AttemptContext,
  job: { id: string; spec: string },
  attempt: { task: string; worker: string },
): Promise<boolean> {
  if (jobSettings(JSON.parse(job.spec) as JobSpec).spotCheckRate === 0) return false;
  const earlier = await ctx.db.attempt.count({
    where: {
      job: job.id,
      worker: attempt.worker,
      state: { in: ["held", "succeeded", "outvoted", "killed"] },
      resultStatement: { not: null },
    },
  });
  if (earlier > 0) return false;
  await ctx.db.task.update({
    where: { job_name: { job: job.id, name: attempt.task } },
    data: { checkKind: "spot" },
  });
  ctx.log({ event: "check-probation", job: job.id, task: attempt.task, worker: attempt.worker });
  return true;
}

/** Keeps a verified result: its buckets' keys (wrapped to the job host), its signed statement. */
export async function keepResult(
  ctx: AttemptContext,
  attempt: { id: string },
  keys: Map<string, HeldBucket>,
  signed: SignedResult,
): Promise<void> {
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
  await ctx.db.attempt.update({
    where: { id: attempt.id },
    data: {
      bytesWritten,
      resultStatement: signed.statement,
      resultSignature: signed.signature,
    },
  });
}

/** A verified result that must wait to be compared: its plaintext digests measured, its result kept, `held`. */
export async function holdResult(
  ctx: AttemptContext,
  job: { id: string; reduces: number; spec: string },
  attempt: { id: string; job: string; task: string; worker: string },
  keys: Map<string, HeldBucket>,
  signed: SignedResult,
  why: string,
): Promise<void> {
  await ctx.digests.measure(attempt.id, keys, outputFormat(job, attempt.task));
  await keepResult(ctx, attempt, keys, signed);
  await endAttempt(ctx, attempt, "held", why);
}

/** Commits the task to `attempt` (its result already kept), and stops its other attempts. */
export async function commitWinner(
  ctx: AttemptContext,
  jobId: string,
  attempt: { id: string; job: string; task: string; number: number; worker: string },
  outputIds: string[],
  counters: CounterRecord,
): Promise<void> {
  await ctx.db.task.update({
    where: { job_name: { job: jobId, name: attempt.task } },
    data: {
      state: "committed",
      committedAttempt: attempt.number,
      outputs: JSON.stringify(outputIds),
      counters: JSON.stringify(counters),
    },
  });
  await endAttempt(ctx, attempt, "succeeded");
  await ctx.db.worker.updateMany({
    where: { job: jobId, pseudonym: attempt.worker },
    data: { failureRun: 0 },
  });
  // The losers of a speculative race stop now: their grants die, their next heartbeat says cancel.
  const others = await ctx.db.attempt.findMany({
    where: { job: jobId, task: attempt.task, state: "running" },
  });
  for (const other of others)
    await endAttempt(ctx, other, "killed", "another attempt of its task won");
}

/**
 * A verified result of a replicated task: held until r results from distinct workers agree on
 * each output's plaintext SHA-256. Then the earliest of them commits, the others that agree are
 * `agreed`, and every other result is `outvoted`: its buckets go and its worker is named in the
 * job's integrity report (and reported to the board by the board link).
 * @returns whether this attempt's result is among those that agreed.
 */
async function settleReplica(
  ctx: AttemptContext,
  job: { id: string; reduces: number; spec: string },
  attempt: { id: string; job: string; task: string; number: number; worker: string },
  keys: Map<string, HeldBucket>,
  signed: SignedResult,
): Promise<boolean> {
  await holdResult(ctx, job, attempt, keys, signed, "verified; waiting for its replicas to agree");
  const standing = await replicaStanding(ctx.db, ctx.digests, job, attempt.task);
  const { replication, held, results, tally: votes } = standing;
  if (!votes.quorum) {
    if (votes.groups > 1) {
      ctx.log({
        event: "replica-mismatch",
        job: job.id,
        task: attempt.task,
        results: results.length,
        groups: votes.groups,
      });
    }
    if (held.length >= maxResults(replication)) {
      await ctx.fail(
        job.id,
        `${attempt.task}: no ${replication} of its ${held.length} results, each from a different worker, agree on their output; too many of the job's workers disagree to trust any of them`,
      );
      return false;
    }
    await settleTaskState(ctx, job, attempt.task);
    return false;
  }
  const quorum = votes.quorum;
  const first = quorum[0] as ReplicaResult;
  const winner = held.find((a) => a.number === first.number) as (typeof held)[number];
  const committed = await ctx.store.commit(job.id, attempt.task, winner.number);
  if (committed !== winner.number) {
    throw new Error(
      `${attempt.task} of ${job.id} was committed to attempt ${committed} outside its quorum`,
    );
  }
  const counters = parseResultStatement(winner.resultStatement ?? "").counters;
  await commitWinner(ctx, job.id, winner, outputIdsOf(job, attempt.task, winner.number), counters);
  ctx.log({
    event: "replica-quorum",
    job: job.id,
    task: attempt.task,
    committed: winner.number,
    agreed: quorum.map((q) => q.number),
  });
  for (const a of held) {
    if (a.id === winner.id) continue;
    const result = results.find((r) => r.number === a.number) as ReplicaResult;
    const agreed = quorum.some((q) => q.number === a.number);
    if (agreed) {
      await endAttempt(ctx, a, "agreed", `matched attempt ${winner.number}, which was committed`);
    } else {
      const reason = outvotedReason(attempt.task, result, quorum);
      await endAttempt(ctx, a, "outvoted", reason);
      ctx.log({
        event: "replica-outvoted",
        job: job.id,
        task: a.task,
        attempt: a.number,
        worker: a.worker,
        reason,
      });
    }
    // Only the committed replica's buckets are read on: the others' go now.
    for (const id of outputIdsOf(job, a.task, a.number)) await ctx.store.removeBucket(id);
  }
  for (const a of held) ctx.digests.forget(a.id);
  await ctx.maybeFinish(job.id);
  return quorum.some((q) => q.number === attempt.number);
}

/**
 * A replicated task is pending while its running attempts and its largest agreeing group of
 * results are fewer than r (the scheduler then hands out another replica), else running.
 */
async function settleTaskState(
  ctx: AttemptContext,
  job: { id: string; reduces: number; spec: string },
  task: string,
): Promise<void> {
  const row = await ctx.db.task.findUniqueOrThrow({
    where: { job_name: { job: job.id, name: task } },
  });
  if (row.state === "committed") return;
  const standing = await replicaStanding(ctx.db, ctx.digests, job, task);
  const { replication, running, tally: votes } = standing;
  const state = running > 0 && running + votes.largest >= replication ? "running" : "pending";
  if (state !== row.state) {
    await ctx.db.task.update({ where: { job_name: { job: job.id, name: task } }, data: { state } });
  }
}

/** Sets a task's state after one of its replicas was handed out. */
export async function replicaAssigned(ctx: AttemptContext, jobId: string, task: string) {
  const job = await jobRow(ctx.db, jobId);
  if (replicationOf(job) > 1) await settleTaskState(ctx, job, task);
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
  state: "succeeded" | "failed" | "lost" | "killed" | "returned" | "held" | "agreed" | "outvoted",
  message?: string,
): Promise<void> {
  const row = await ctx.db.attempt.update({
    where: { id: attempt.id },
    // A held result's "waiting for …" note is over once it commits or agrees.
    data: {
      state,
      finishedAt: new Date(),
      ...(message
        ? { error: message }
        : ["succeeded", "agreed"].includes(state)
          ? { error: null }
          : {}),
    },
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
  // A held, agreed or outvoted replica is a result, not a failure: its task's quorum decides.
  if (["succeeded", "killed", "held", "agreed", "outvoted"].includes(state)) return;
  const stillRunning = await ctx.db.attempt.count({
    where: { job: row.job, task: row.task, state: "running" },
  });
  const task = await ctx.db.task.update({
    where: { job_name: { job: row.job, name: row.task } },
    data: {
      ...(state === "failed" ? { failures: { increment: 1 } } : { losses: { increment: 1 } }),
    },
  });
  const job = await jobRow(ctx.db, row.job);
  if (replicationOf(job) > 1) await settleTaskState(ctx, job, row.task);
  else if (task.state !== "committed" && stillRunning === 0) {
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

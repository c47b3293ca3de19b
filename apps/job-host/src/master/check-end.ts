// How a checked task's results end (#8): held until the job host's own run of the task is done, then committed if they match it; a worker whose result does not is caught, and nothing it did in the job is trusted.
import type { JobHostDb } from "@tormr/db/job-host";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import { parseResultStatement } from "@tormr/protocol/worker-api";
import { type AttemptContext, commitWinner, endAttempt, holdResult } from "./attempt-end.ts";
import { outputFormat, outputIdsOf } from "./replication.ts";
import type { SignedResult } from "./result-signature.ts";
import { type CheckRun, reduceInputIds } from "./task-check.ts";
import type { HeldBucket } from "./task-grants.ts";

type AttemptRow = { id: string; job: string; task: string; number: number; worker: string };
type JobRow = { id: string; reduces: number; spec: string };

/**
 * Under spot checks, a worker's first task is checked (probation, as BOINC checks a new host's
 * first results), marked as it is handed out so the job host's own run starts beside the
 * worker's. (attempt-end.ts's `onProbation` covers a worker whose first task ended without a
 * result.) Returns the task's check and expected digests as they stand.
 */
export async function firstTaskChecked(
  db: JobHostDb,
  job: { id: string; spec: string },
  worker: string,
  task: string,
): Promise<{ checkKind: string | null; expected: string | null }> {
  const key = { job_name: { job: job.id, name: task } };
  const row = await db.task.findUniqueOrThrow({
    where: key,
    select: { checkKind: true, expected: true },
  });
  if (row.checkKind || jobSettings(JSON.parse(job.spec) as JobSpec).spotCheckRate === 0) return row;
  if ((await db.attempt.count({ where: { job: job.id, worker } })) > 1) return row;
  return db.task.update({
    where: key,
    data: { checkKind: "spot" },
    select: { checkKind: true, expected: true },
  });
}

/** What a check is called in messages and in the board's report. */
const checkName = (kind: string) => (kind === "decoy" ? "decoy" : "spot check");

/**
 * A verified result of a checked task (a spot check or a decoy): its outputs' plaintext digests
 * measured, then held until the job host's own run of the task is done, and judged.
 * @returns whether this result was committed now.
 */
export async function settleChecked(
  ctx: AttemptContext,
  job: JobRow,
  attempt: AttemptRow,
  keys: Map<string, HeldBucket>,
  signed: SignedResult,
): Promise<boolean> {
  await holdResult(
    ctx,
    job,
    attempt,
    keys,
    signed,
    "verified; waiting for the job host's own run of it",
  );
  const committed = await judgeChecked(ctx, job.id, attempt.task);
  return committed === attempt.number;
}

/**
 * Once the job host's own run of `task` gave `expected`: keeps it, and judges the held results.
 */
export async function checkRan(
  ctx: AttemptContext,
  jobId: string,
  task: string,
  run: CheckRun,
): Promise<void> {
  const row = await ctx.db.task.findUnique({ where: { job_name: { job: jobId, name: task } } });
  if (!row || row.state === "committed") return;
  if (run.stale) {
    // A run asked for while this stale one was under way got this one: results that wait for
    // it, on inputs that are whole again, get a fresh run. (Otherwise the next attempt starts it.)
    const held = await ctx.db.attempt.count({ where: { job: jobId, task, state: "held" } });
    const ready = await reduceInputIds(ctx.db, jobId, Number(task.slice(1)));
    if (held > 0 && ready) ctx.startCheck(jobId, task);
    return;
  }
  const expected = run.digests;
  if (task.startsWith("r")) {
    // Maps undone since the run began: its inputs are not the reduce's any more.
    const now = await reduceInputIds(ctx.db, jobId, Number(task.slice(1)));
    if (now === undefined || now.join(",") !== run.inputs.join(",")) {
      ctx.startCheck(jobId, task);
      return;
    }
  }
  await ctx.db.task.update({
    where: { job_name: { job: jobId, name: task } },
    data: { expected: JSON.stringify(expected) },
  });
  ctx.log({ event: "check-ran", job: jobId, task });
  await judgeChecked(ctx, jobId, task);
}

/**
 * Compares each held result of a checked task with the job host's own run, earliest first. The
 * first that matches commits (a decoy's outputs then go: no reduce reads them); each that does
 * not catches its worker. Without the job host's run yet, starts it.
 * @returns the attempt number committed now, if any.
 */
export async function judgeChecked(
  ctx: AttemptContext,
  jobId: string,
  taskName: string,
): Promise<number | undefined> {
  const task = await ctx.db.task.findUniqueOrThrow({
    where: { job_name: { job: jobId, name: taskName } },
  });
  const job = await ctx.db.job.findUniqueOrThrow({ where: { id: jobId } });
  if (task.checkKind === null || task.state === "committed") return;
  if (!["preparing", "running"].includes(job.state)) return;
  if (task.expected === null) {
    ctx.startCheck(jobId, taskName);
    return;
  }
  const expected = JSON.parse(task.expected) as string[];
  const kind = task.checkKind ?? "spot";
  const format = outputFormat(job, taskName);
  const held = await ctx.db.attempt.findMany({
    where: { job: jobId, task: taskName, state: "held" },
    orderBy: { number: "asc" },
  });
  let committed: number | undefined;
  for (const attempt of held) {
    // A worker caught earlier in this loop has had its held results taken away.
    const now = await ctx.db.attempt.findUnique({
      where: { id: attempt.id },
      select: { state: true },
    });
    if (now?.state !== "held") continue;
    const ids = outputIdsOf(job, taskName, attempt.number);
    const digests = await ctx.digests.of(ctx.db, attempt.id, ids, format);
    ctx.digests.forget(attempt.id);
    const at = expected.findIndex((d, i) => digests[i] !== d);
    const matches = at < 0 && digests.length === expected.length;
    if (matches && committed === undefined) {
      const winner = await ctx.store.commit(jobId, taskName, attempt.number);
      if (winner !== attempt.number) {
        throw new Error(
          `${taskName} of ${jobId} was committed to attempt ${winner}, not the checked one`,
        );
      }
      const counters = parseResultStatement(attempt.resultStatement ?? "").counters;
      await commitWinner(ctx, jobId, attempt, ids, counters);
      committed = attempt.number;
      ctx.log({
        event: "check-passed",
        job: jobId,
        task: taskName,
        check: kind,
        attempt: attempt.number,
        worker: attempt.worker,
      });
      if (kind === "decoy") for (const id of ids) await ctx.store.removeBucket(id);
      continue;
    }
    if (matches) {
      // A second matching result (a speculative copy): right, but not needed.
      await endAttempt(ctx, attempt, "killed", "another attempt of its task won");
      for (const id of ids) await ctx.store.removeBucket(id);
      continue;
    }
    const i = at >= 0 ? at : expected.length;
    const what = taskName.startsWith("m") && job.reduces > 0 ? `partition ${i}` : "output";
    const short = (d: string | undefined) => (d ? `${d.slice(0, 12)}…` : "nothing");
    const reason = `${checkName(kind)}: ${taskName}'s ${what} has plaintext SHA-256 ${short(digests[i])}, where the job host's own run has ${short(expected[i])}`;
    await catchWorker(ctx, job, attempt, reason);
  }
  if (committed === undefined) await requeueIfIdle(ctx.db, jobId, taskName);
  await ctx.maybeFinish(jobId);
  return committed;
}

/**
 * A worker whose result a check disproved: that attempt is `outvoted` (the board is told, with
 * the check's name), the worker is removed from the job, and everything it did there is undone:
 * its running attempts stop, its held results go, and each task it committed that no check
 * confirmed runs again elsewhere (a map's redo redoes every reduce that read it).
 */
async function catchWorker(
  ctx: AttemptContext,
  job: JobRow,
  attempt: AttemptRow,
  reason: string,
): Promise<void> {
  await endAttempt(ctx, attempt, "outvoted", reason);
  for (const id of outputIdsOf(job, attempt.task, attempt.number)) await ctx.store.removeBucket(id);
  const key = { job_pseudonym: { job: job.id, pseudonym: attempt.worker } };
  const worker = await ctx.db.worker.findUniqueOrThrow({ where: key });
  ctx.log({
    event: "worker-caught",
    job: job.id,
    worker: attempt.worker,
    task: attempt.task,
    reason,
  });
  if (worker.caught !== null) return;
  await ctx.db.worker.update({ where: key, data: { caught: reason, state: "removed" } });
  const why = `discarded: its worker was caught (${reason})`;
  const others = await ctx.db.attempt.findMany({
    where: { job: job.id, worker: attempt.worker, state: { in: ["running", "held"] } },
  });
  for (const other of others) {
    await endAttempt(ctx, other, "killed", why);
    if (other.state === "held") {
      for (const id of outputIdsOf(job, other.task, other.number)) await ctx.store.removeBucket(id);
    }
    await requeueIfIdle(ctx.db, job.id, other.task);
  }
  const committed = await ctx.db.task.findMany({
    where: { job: job.id, state: "committed" },
  });
  let mapUndone = false;
  for (const task of committed) {
    const won = await ctx.db.attempt.findUnique({
      where: {
        job_task_number: { job: job.id, task: task.name, number: task.committedAttempt ?? -1 },
      },
    });
    // A result a check confirmed stands: the job host ran the task itself and got the same.
    if (won?.worker !== attempt.worker || task.checkKind !== null) continue;
    await undoTask(ctx, job, task.name, won, why);
    if (task.kind === "map") mapUndone = true;
  }
  if (!mapUndone) return;
  // Every reduce read every map: one that ran on an undone map's output runs again.
  const reduces = await ctx.db.task.findMany({ where: { job: job.id, kind: "reduce" } });
  for (const reduce of reduces) {
    const running = await ctx.db.attempt.findMany({
      where: { job: job.id, task: reduce.name, state: { in: ["running", "held"] } },
    });
    for (const a of running) {
      await endAttempt(ctx, a, "killed", "a map it read was undone");
      for (const id of outputIdsOf(job, a.task, a.number)) await ctx.store.removeBucket(id);
    }
    if (reduce.state === "committed") {
      const won = await ctx.db.attempt.findUnique({
        where: {
          job_task_number: {
            job: job.id,
            task: reduce.name,
            number: reduce.committedAttempt ?? -1,
          },
        },
      });
      if (won) await undoTask(ctx, job, reduce.name, won, "a map it read was undone");
    } else {
      await ctx.db.task.update({
        where: { job_name: { job: job.id, name: reduce.name } },
        data: { state: "pending", expected: null },
      });
    }
  }
}

/** A committed task back to pending: its commit and outputs gone, its winning attempt `killed`. */
async function undoTask(
  ctx: AttemptContext,
  job: JobRow,
  name: string,
  won: AttemptRow,
  why: string,
): Promise<void> {
  await ctx.store.uncommit(job.id, name);
  for (const id of outputIdsOf(job, name, won.number)) await ctx.store.removeBucket(id);
  await ctx.db.attempt.update({ where: { id: won.id }, data: { state: "killed", error: why } });
  await ctx.db.task.update({
    where: { job_name: { job: job.id, name } },
    data: {
      state: "pending",
      committedAttempt: null,
      outputs: null,
      counters: null,
      // A reduce's inputs change with the maps redone: the job host's run of it must be redone too.
      ...(name.startsWith("r") ? { expected: null } : {}),
    },
  });
  ctx.log({ event: "task-undone", job: job.id, task: name, attempt: won.number, message: why });
}

/** A task with no attempt running or held, and not committed, is pending again. */
async function requeueIfIdle(db: JobHostDb, jobId: string, task: string): Promise<void> {
  const busy = await db.attempt.count({
    where: { job: jobId, task, state: { in: ["running", "held"] } },
  });
  if (busy > 0) return;
  await db.task.updateMany({
    where: { job: jobId, name: task, state: { not: "committed" } },
    data: { state: "pending" },
  });
}

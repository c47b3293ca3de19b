// What the admin API and the CLI show of a job: its state, task counts, counters, workers and every attempt.
import type { JobHostDb } from "@tormr/db/job-host";
import { Counters } from "@tormr/mapreduce/counters";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import {
  type AttemptRecord,
  type Checks,
  type Integrity,
  type JobStatus,
  jobStateSchema,
  type Outvoted,
  type PhaseCounts,
} from "@tormr/protocol/admin-api";
import type { JobProgress } from "../local/types.ts";
import { MasterError } from "./master-error.ts";
import { replicationOf } from "./replication.ts";

// The wire types live in @tormr/protocol/admin-api; these names stay for the job host's own code.
export type { AttemptRecord, JobStatus, PhaseCounts } from "@tormr/protocol/admin-api";

export async function jobStatus(db: JobHostDb, jobId: string): Promise<JobStatus> {
  const job = await db.job.findUnique({ where: { id: jobId } });
  if (!job) throw new MasterError("ERR_NO_JOB", `no job ${jobId} on this job host`);
  const tasks = await db.task.findMany({
    where: { job: jobId },
    select: { kind: true, state: true, counters: true, checkKind: true },
  });
  // Decoys are the job host's checks, not the job's maps: `checks` counts them.
  const phase = (kind: string): PhaseCounts => {
    const of = tasks.filter((t) => t.kind === kind && t.checkKind !== "decoy");
    return {
      total: of.length,
      committed: of.filter((t) => t.state === "committed").length,
      running: of.filter((t) => t.state === "running").length,
    };
  };
  const counters = new Counters();
  // A decoy's counters are a check's, not the job's: its records are not the job's input.
  for (const task of tasks) {
    if (task.counters && task.checkKind !== "decoy") counters.merge(JSON.parse(task.counters));
  }
  const workers = await db.worker.findMany({
    where: { job: jobId },
    select: { pseudonym: true, state: true, sandbox: true, lastSeen: true },
    orderBy: { joinedAt: "asc" },
  });
  const latest = await db.attempt.findFirst({
    where: { job: jobId, state: "running", status: { not: null } },
    orderBy: { heartbeatAt: "desc" },
    select: { status: true },
  });
  const replication = replicationOf(job);
  const settings = jobSettings(JSON.parse(job.spec) as JobSpec);
  const checked = settings.spotCheckRate > 0 || settings.decoyRate > 0;
  return {
    id: job.id,
    state: jobStateSchema.parse(job.state),
    error: job.error,
    maps: phase("map"),
    reduces: phase("reduce"),
    counters: counters.toJSON(),
    failedAttempts: await db.attempt.count({ where: { job: jobId, state: "failed" } }),
    workers: workers.map((w) => ({ ...w, lastSeen: w.lastSeen.toISOString() })),
    createdAt: job.createdAt.toISOString(),
    finishedAt: job.finishedAt?.toISOString() ?? null,
    ...(latest?.status ? { status: latest.status } : {}),
    ...(replication > 1 ? { integrity: await jobIntegrity(db, jobId, replication) } : {}),
    ...(checked ? { checks: await jobChecks(db, jobId) } : {}),
  };
}

/** What a job's spot checks and decoys came to. */
export async function jobChecks(db: JobHostDb, jobId: string): Promise<Checks> {
  const tasks = await db.task.findMany({
    where: { job: jobId, checkKind: { not: null } },
    select: { checkKind: true, state: true },
  });
  const undone = await db.attempt.count({
    where: {
      job: jobId,
      state: "killed",
      OR: [
        { error: { startsWith: "discarded: its worker was caught" } },
        { error: "a map it read was undone" },
      ],
    },
  });
  return {
    spotChecked: tasks.filter((t) => t.checkKind === "spot").length,
    decoys: tasks.filter((t) => t.checkKind === "decoy").length,
    passed: tasks.filter((t) => t.state === "committed").length,
    caught: await outvotedResults(db, jobId),
    undone,
  };
}

/** What a replicated job's replicas came to: results compared, tasks that disagreed, who was outvoted. */
export async function jobIntegrity(
  db: JobHostDb,
  jobId: string,
  replication: number,
): Promise<Integrity> {
  const replicas = await db.attempt.count({
    where: { job: jobId, state: { in: ["held", "agreed", "succeeded", "outvoted"] } },
  });
  const outvoted = await outvotedResults(db, jobId);
  return {
    replication,
    replicas,
    mismatches: new Set(outvoted.map((a) => a.task)).size,
    outvoted,
  };
}

/** Every result outvoted (by its replicas, or by a check), with whether its worker was reported. */
async function outvotedResults(db: JobHostDb, jobId: string): Promise<Outvoted[]> {
  const outvoted = await db.attempt.findMany({
    where: { job: jobId, state: "outvoted" },
    orderBy: [{ task: "asc" }, { number: "asc" }],
    select: { task: true, number: true, worker: true, error: true },
  });
  const reported = new Set(
    (
      await db.worker.findMany({
        where: { job: jobId, reportedAt: { not: null } },
        select: { pseudonym: true },
      })
    ).map((w) => w.pseudonym),
  );
  return outvoted.map((a) => ({
    task: a.task,
    attempt: a.number,
    worker: a.worker,
    reason: a.error ?? "outvoted",
    reported: reported.has(a.worker),
  }));
}

export async function jobAttempts(db: JobHostDb, jobId: string): Promise<AttemptRecord[]> {
  const rows = await db.attempt.findMany({
    where: { job: jobId },
    orderBy: [{ startedAt: "asc" }],
  });
  // Attempts that did not commit: what their buckets hold while they exist, under the worker's pseudonym.
  const written = await db.bucket.groupBy({
    by: ["task", "attempt", "writer"],
    where: { job: jobId },
    _sum: { size: true },
  });
  const bytesOf = new Map(
    written.map((b) => [`${b.task}/${b.attempt}/${b.writer}`, Number(b._sum.size ?? 0n)]),
  );
  return rows.map((a) => ({
    id: a.id,
    task: a.task,
    number: a.number,
    worker: a.worker,
    state: a.state,
    speculative: a.speculative,
    sandbox: a.sandbox,
    containerId: a.containerId,
    startedAt: a.startedAt.toISOString(),
    finishedAt: a.finishedAt?.toISOString() ?? null,
    error: a.error,
    exitCode: a.exitCode,
    reason: a.reason,
    stderrTail: a.stderrTail,
    bytesWritten:
      a.bytesWritten !== null
        ? Number(a.bytesWritten)
        : (bytesOf.get(`${a.task}/${a.number}/${a.worker}`) ?? null),
  }));
}

/** A job's status as the CLI's progress line shows it. */
export function progressOf(status: JobStatus): JobProgress {
  return {
    jobId: status.id,
    phase:
      status.state === "succeeded"
        ? "done"
        : status.maps.committed < status.maps.total
          ? "map"
          : "reduce",
    maps: { total: status.maps.total, done: status.maps.committed, running: status.maps.running },
    reduces: {
      total: status.reduces.total,
      done: status.reduces.committed,
      running: status.reduces.running,
    },
    ...(status.status ? { status: status.status } : {}),
  };
}

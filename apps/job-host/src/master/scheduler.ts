// Which task a worker gets next: pending maps once their split is sealed, reduces once every map is committed, then stragglers; under an exposure cap, only what keeps the worker within it; under replication, never a task it ran, and replicas spread across registration epochs.
import type { JobHostDb } from "@tormr/db/job-host";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import {
  type ExposureCap,
  mayHold,
  partitionsRefusal,
  type Side,
  strandedMessage,
  withinPace,
} from "./exposure-budget.ts";
import { type EpochMember, epochWindow, RESULT_STATES } from "./replication.ts";
import type { MasterSettings } from "./settings.ts";

/**
 * What the scheduler hands a worker: a task (a straggler's copy if speculative; `sameEpoch` when
 * a replica goes to a second worker of one registration epoch, nobody else being able to), or
 * the job's end.
 */
export type Pick = { name: string; speculative: boolean; sameEpoch?: number } | { fail: string };

/** The job row's fields the scheduler reads. */
export interface ScheduledJob {
  id: string;
  maps: number;
  reduces: number;
  spec: string;
  splits: string;
}

/**
 * A pending task this worker may run, or a straggler to run speculatively. Under an exposure cap,
 * only a task that keeps the worker (and any k with it) within the cap; `fail` when the job cannot
 * go on within it: a reduce partition over the cap by itself (key skew), or a task no active
 * worker may take when no more workers can join.
 */
export async function pickTask(
  db: JobHostDb,
  settings: MasterSettings,
  job: ScheduledJob,
  pseudonym: string,
): Promise<Pick | undefined> {
  const { id: jobId, maps } = job;
  const sealed = new Set(
    (
      await db.bucket.findMany({
        where: { job: jobId, id: { contains: "/split/" }, key: { not: null } },
        select: { task: true },
      })
    ).map((b) => b.task),
  );
  const pending = await db.task.findMany({
    where: { job: jobId, state: "pending" },
    orderBy: [{ kind: "asc" }, { index: "asc" }],
  });
  const mapsLeft = await db.task.count({
    where: { job: jobId, kind: "map", state: { not: "committed" } },
  });
  const failedHere = new Set(
    (
      await db.attempt.findMany({
        where: { job: jobId, worker: pseudonym, state: "failed" },
        select: { task: true },
      })
    ).map((a) => a.task),
  );
  const ready = pending.filter((t) =>
    t.kind === "map" ? sealed.has(t.name) || maps === 0 : mapsLeft === 0,
  );
  const budget = await loadBudget(db, job);
  if (budget?.mapOutput && ready.some((t) => t.kind === "reduce")) {
    const skewed = partitionsRefusal(
      [...budget.mapOutput.records].map(([name, records]) => ({ label: name.slice(1), records })),
      budget.cap,
    );
    if (skewed) return { fail: skewed };
    // Largest first, as first-fit decreasing packs: the small ones fill what room is left.
    const records = budget.mapOutput.records;
    ready.sort((a, b) => (records.get(b.name) ?? 0) - (records.get(a.name) ?? 0));
  }
  const allowed = (task: string) => !budget || fitsBudget(budget, pseudonym, task);
  const paced = (task: string) => !budget || pacedBudget(budget, pseudonym, task);
  const replication = jobSettings(JSON.parse(job.spec) as JobSpec).replication;
  const replicas =
    replication > 1 ? await replicaWindow(db, settings, jobId, pseudonym) : undefined;
  let fitting = ready.filter((t) => allowed(t.name) && replicas?.verdict(t.name) !== "refused");
  if (budget && budget.cap.collusion > 1 && !fitting.some((t) => paced(t.name))) {
    // Past its even part only for a task no other live worker could take within its own.
    const others = await liveWorkers(db, settings, jobId, pseudonym);
    fitting = fitting.filter(
      (t) => !others.some((o) => fitsBudget(budget, o, t.name) && pacedBudget(budget, o, t.name)),
    );
  } else if (budget) fitting = fitting.filter((t) => paced(t.name));
  // A worker that failed a task gets it again only when no other task is left for it.
  const choice = fitting.find((t) => !failedHere.has(t.name)) ?? fitting[0];
  if (choice) {
    const sameEpoch = replicas?.verdict(choice.name) === "unavoidable" ? replicas.epoch : undefined;
    return {
      name: choice.name,
      speculative: false,
      ...(sameEpoch !== undefined ? { sameEpoch } : {}),
    };
  }
  // Replicas already give a second opinion: no speculative copies beside them.
  if (replicas) {
    const stranded = await replicaStranded(
      db,
      jobId,
      ready.map((t) => t.name),
      replication,
    );
    if (stranded || !budget) return stranded ? { fail: stranded } : undefined;
  } else {
    // A speculative copy is optional: it may spend no more than the worker's even part.
    const spare = (task: string) => allowed(task) && paced(task);
    const straggler = await pickStraggler(db, settings, jobId, pseudonym, spare);
    if (straggler || !budget) return straggler;
  }
  const stranded = await strandedTask(
    db,
    jobId,
    budget,
    ready.map((t) => t.name),
  );
  return stranded ? { fail: stranded } : undefined;
}

/**
 * The Sybil window for one worker of a replicated job (replication.ts's `epochWindow`): for each
 * task, whether it may run a replica of it. Never one it ran, runs, or had outvoted.
 */
async function replicaWindow(
  db: JobHostDb,
  settings: MasterSettings,
  jobId: string,
  pseudonym: string,
) {
  const workers = await db.worker.findMany({
    where: { job: jobId },
    select: { pseudonym: true, epoch: true, state: true, lastSeen: true },
  });
  const epochOf = new Map(workers.map((w) => [w.pseudonym, w.epoch]));
  const me = { pseudonym, epoch: epochOf.get(pseudonym) ?? null };
  const live = new Date(Date.now() - settings.timeoutMs);
  // Workers still to come count too: a board's tickets not yet used, while they may yet be.
  const coming = await db.joinTicket.findMany({
    where: {
      job: jobId,
      usedAt: null,
      createdAt: { gte: new Date(Date.now() - 4 * (settings.timeoutMs + settings.pollMs)) },
    },
    select: { epoch: true },
  });
  const others = [
    ...workers
      .filter((w) => w.state === "active" && w.lastSeen >= live && w.pseudonym !== pseudonym)
      .map((w) => ({ pseudonym: w.pseudonym, epoch: w.epoch })),
    ...coming.map((t) => ({ pseudonym: null, epoch: t.epoch })),
  ];
  const attempts = await db.attempt.findMany({
    where: { job: jobId, state: { in: RESULT_STATES } },
    select: { task: true, worker: true },
  });
  const ran = new Map<string, EpochMember[]>();
  for (const a of attempts) {
    const list = ran.get(a.task) ?? [];
    list.push({ pseudonym: a.worker, epoch: epochOf.get(a.worker) ?? null });
    ran.set(a.task, list);
  }
  return {
    epoch: me.epoch ?? undefined,
    verdict: (task: string) => {
      const replicas = ran.get(task) ?? [];
      if (replicas.some((r) => r.pseudonym === pseudonym)) return "refused";
      return epochWindow(me, replicas, others);
    },
  };
}

/**
 * Why a replicated job cannot go on: a task that needs another replica, when every active worker
 * has run it already and no join ticket is left unused. Undefined while one may still come.
 */
async function replicaStranded(
  db: JobHostDb,
  jobId: string,
  ready: readonly string[],
  replication: number,
): Promise<string | undefined> {
  if (ready.length === 0) return undefined;
  if ((await db.joinTicket.count({ where: { job: jobId, usedAt: null } })) > 0) return undefined;
  const active = await db.worker.findMany({
    where: { job: jobId, state: "active" },
    select: { pseudonym: true },
  });
  for (const task of ready) {
    const ran = await db.attempt.findMany({
      where: { job: jobId, task, state: { in: RESULT_STATES } },
      select: { worker: true },
    });
    if (active.some((w) => !ran.some((r) => r.worker === w.pseudonym))) continue;
    return `${task} needs another replica (-D tormr.replication=${replication}), but each of the ${active.length} active workers has run it and no more can join (every join ticket is used); run the job again with more workers`;
  }
  return undefined;
}

/** A job's exposure budget as granted so far: each side's pieces, and what each worker was given. */
export interface ExposureBudget {
  cap: ExposureCap;
  /** The splits (`m<i>`) with the records the job host counted when the job was created. */
  input: Side;
  /** The reduce partitions (`r<p>`), known once every map is committed. */
  mapOutput: Side | undefined;
}

/** A split as the job row keeps it under a cap: with the records counted at submission. */
interface CountedSplit {
  index: number;
  records?: number;
}

/**
 * The job's budget, or undefined when it has no cap. A worker holds every task it was given an
 * attempt of, whatever became of the attempt: a grant is the promise (retries and speculative
 * copies count for the worker that gets them).
 */
export async function loadBudget(
  db: JobHostDb,
  job: ScheduledJob,
): Promise<ExposureBudget | undefined> {
  const conf = jobSettings(JSON.parse(job.spec) as JobSpec);
  if (conf.exposureCap === null) return undefined;
  const cap = { cap: conf.exposureCap, collusion: conf.exposureCollusion };
  const splits = JSON.parse(job.splits) as CountedSplit[];
  const held = { m: new Map<string, Set<string>>(), r: new Map<string, Set<string>>() };
  const attempts = await db.attempt.findMany({
    where: { job: job.id },
    select: { task: true, worker: true },
  });
  for (const { task, worker } of attempts) {
    const side = task.startsWith("m") ? held.m : held.r;
    const pieces = side.get(worker) ?? new Set<string>();
    pieces.add(task);
    side.set(worker, pieces);
  }
  const input = new Map(splits.map((s) => [`m${s.index}`, s.records ?? 0]));
  const partitions = job.reduces > 0 ? await partitionRecords(db, job) : undefined;
  return {
    cap,
    input: { records: input, total: total(input), held: held.m },
    mapOutput: partitions && { records: partitions, total: total(partitions), held: held.r },
  };
}

function total(records: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const n of records.values()) sum += n;
  return sum;
}

/** Each partition's records in the committed map outputs, once every map is committed. */
async function partitionRecords(db: JobHostDb, job: ScheduledJob) {
  const maps = await db.task.findMany({
    where: { job: job.id, kind: "map" },
    select: { state: true, outputs: true },
  });
  if (maps.some((m) => m.state !== "committed")) return undefined;
  const partitionOf = new Map<string, number>();
  for (const map of maps) {
    for (const [p, id] of (JSON.parse(map.outputs ?? "[]") as string[]).entries()) {
      partitionOf.set(id, p);
    }
  }
  const records = new Map(Array.from({ length: job.reduces }, (_, p) => [`r${p}`, 0]));
  const buckets = await db.bucket.findMany({
    where: { job: job.id },
    select: { id: true, records: true },
  });
  for (const bucket of buckets) {
    const p = partitionOf.get(bucket.id);
    if (p !== undefined) records.set(`r${p}`, (records.get(`r${p}`) ?? 0) + bucket.records);
  }
  return records;
}

/** Whether giving `task` to `worker` keeps it, and any k with it, within the cap. */
export function fitsBudget(budget: ExposureBudget, worker: string, task: string): boolean {
  const side = task.startsWith("m") ? budget.input : budget.mapOutput;
  return side !== undefined && mayHold(side, worker, task, budget.cap);
}

/** Whether `worker` given `task` stays within its even part of the cap, cap/k. */
function pacedBudget(budget: ExposureBudget, worker: string, task: string): boolean {
  const side = task.startsWith("m") ? budget.input : budget.mapOutput;
  return side !== undefined && withinPace(side, worker, task, budget.cap);
}

/** The job's other active workers heard from within the attempt timeout (alive, so polling). */
async function liveWorkers(
  db: JobHostDb,
  settings: MasterSettings,
  jobId: string,
  pseudonym: string,
): Promise<string[]> {
  const rows = await db.worker.findMany({
    where: {
      job: jobId,
      state: "active",
      pseudonym: { not: pseudonym },
      lastSeen: { gte: new Date(Date.now() - settings.timeoutMs) },
    },
    select: { pseudonym: true },
  });
  return rows.map((row) => row.pseudonym);
}

/**
 * Why the job cannot go on: a ready task that no active worker may take within the cap, when no
 * join ticket is left unused (no more workers can come). Undefined while one may.
 */
async function strandedTask(
  db: JobHostDb,
  jobId: string,
  budget: ExposureBudget,
  ready: readonly string[],
): Promise<string | undefined> {
  if (ready.length === 0) return undefined;
  if ((await db.joinTicket.count({ where: { job: jobId, usedAt: null } })) > 0) return undefined;
  const active = await db.worker.findMany({
    where: { job: jobId, state: "active" },
    select: { pseudonym: true },
  });
  for (const task of ready) {
    if (active.some((w) => fitsBudget(budget, w.pseudonym, task))) continue;
    const input = task.startsWith("m");
    const side = (input ? budget.input : budget.mapOutput) as Side;
    const records = side.records.get(task) ?? 0;
    return strandedMessage(
      task,
      input ? "input" : "mapOutput",
      records,
      side.total,
      budget.cap,
      active.length,
    );
  }
  return undefined;
}

/** Hadoop's speculative execution: a lone attempt running much longer than its finished peers. */
async function pickStraggler(
  db: JobHostDb,
  settings: MasterSettings,
  jobId: string,
  pseudonym: string,
  allowed: (task: string) => boolean,
) {
  const { speculativeSlowdown, speculativeMinMs } = settings;
  if (speculativeSlowdown <= 0) return undefined;
  const done = await db.attempt.findMany({
    where: { job: jobId, state: "succeeded", finishedAt: { not: null } },
    select: { task: true, startedAt: true, finishedAt: true },
  });
  const durations = new Map<string, number[]>();
  for (const a of done) {
    const kind = a.task[0] ?? "m";
    const list = durations.get(kind) ?? [];
    list.push((a.finishedAt as Date).getTime() - a.startedAt.getTime());
    durations.set(kind, list);
  }
  const running = await db.attempt.findMany({
    where: { job: jobId, state: "running" },
    orderBy: { startedAt: "asc" },
  });
  const perTask = new Map<string, number>();
  for (const a of running) perTask.set(a.task, (perTask.get(a.task) ?? 0) + 1);
  const now = Date.now();
  for (const a of running) {
    const peers = durations.get(a.task[0] ?? "m");
    if (!peers || peers.length === 0 || perTask.get(a.task) !== 1 || a.worker === pseudonym)
      continue;
    if (!allowed(a.task)) continue;
    const median = [...peers].sort((x, y) => x - y)[Math.floor(peers.length / 2)] ?? 0;
    const threshold = Math.max(speculativeMinMs, median * speculativeSlowdown);
    if (now - a.startedAt.getTime() > threshold) return { name: a.task, speculative: true };
  }
  return undefined;
}

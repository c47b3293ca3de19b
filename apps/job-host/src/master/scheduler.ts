// Which task a worker gets next: pending maps once their split is sealed, reduces once every map is committed, then stragglers.
import type { JobHostDb } from "@tormr/db/job-host";
import type { MasterSettings } from "./settings.ts";

/** A pending task this worker may run, or a straggler to run speculatively. */
export async function pickTask(
  db: JobHostDb,
  settings: MasterSettings,
  jobId: string,
  maps: number,
  pseudonym: string,
) {
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
  // A worker that failed a task gets it again only when no other task is left for it.
  const choice = ready.find((t) => !failedHere.has(t.name)) ?? ready[0];
  if (choice) return { name: choice.name, speculative: false };
  return pickStraggler(db, settings, jobId, pseudonym);
}

/** Hadoop's speculative execution: a lone attempt running much longer than its finished peers. */
async function pickStraggler(
  db: JobHostDb,
  settings: MasterSettings,
  jobId: string,
  pseudonym: string,
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
    const median = [...peers].sort((x, y) => x - y)[Math.floor(peers.length / 2)] ?? 0;
    const threshold = Math.max(speculativeMinMs, median * speculativeSlowdown);
    if (now - a.startedAt.getTime() > threshold) return { name: a.task, speculative: true };
  }
  return undefined;
}

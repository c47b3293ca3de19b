// Retention: a finished job's records, code bundle, uploads and (when the job host keeps it) output are deleted once it expires.
import { rm } from "node:fs/promises";
import { join, relative } from "node:path";
import type { JobHostDb } from "@tormr/db/job-host";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import type { BucketStore } from "../store/bucket-store.ts";

/**
 * Deletes every job whose `expiresAt` has passed: its buckets, code bundle, rows (tasks, attempts,
 * workers, tickets, commits, the exposure ledger), its uploaded files unless another job reads
 * them, and, when the output folder lies inside the job host's own state folder, its output. An output folder the requester named elsewhere is hers, and
 * is never touched. Returns the ids deleted.
 */
export async function expireJobs(
  db: JobHostDb,
  store: BucketStore,
  stateDir: string,
  now = new Date(),
): Promise<string[]> {
  const expired = await db.job.findMany({
    where: { expiresAt: { lt: now }, state: { in: ["succeeded", "failed", "cancelled"] } },
    select: { id: true, spec: true, workerJob: true },
  });
  for (const job of expired) {
    await store.removeJobBuckets(job.id);
    const output = (JSON.parse(job.spec) as JobSpec).output;
    const inside = relative(stateDir, output);
    if (!inside.startsWith("..") && inside !== "" && !inside.startsWith("/")) {
      await rm(output, { recursive: true, force: true });
    }
    // The files uploaded for it (the console's), unless a job run again from the same spec still reads them.
    const uploads = join(stateDir, "uploads", job.id);
    const readers = await db.job.count({
      where: { id: { not: job.id }, spec: { contains: `${uploads}/` } },
    });
    if (readers === 0) await rm(uploads, { recursive: true, force: true });
    const digest = (JSON.parse(job.workerJob) as WorkerJob).codeDigest;
    // The same code may serve a newer job: its bundle stays while any job names it.
    const others = await db.job.count({
      where: { id: { not: job.id }, workerJob: { contains: digest } },
    });
    if (others === 0) await rm(join(stateDir, "code", `${digest}.tar`), { force: true });
    await db.$transaction([
      db.attempt.deleteMany({ where: { job: job.id } }),
      db.task.deleteMany({ where: { job: job.id } }),
      db.worker.deleteMany({ where: { job: job.id } }),
      db.joinTicket.deleteMany({ where: { job: job.id } }),
      db.commit.deleteMany({ where: { job: job.id } }),
      db.exposure.deleteMany({ where: { job: job.id } }),
      db.revocation.deleteMany({ where: { job: job.id } }),
      db.job.delete({ where: { id: job.id } }),
    ]);
  }
  return expired.map((job) => job.id);
}

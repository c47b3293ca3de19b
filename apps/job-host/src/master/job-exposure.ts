// Who saw how much of a job: its split and committed map-output buckets, and each worker's distinct share of them from the exposure ledger.
import { parseMapOutputId } from "@tormr/crypto/bucket-id";
import type { JobHostDb } from "@tormr/db/job-host";
import {
  type ExposureShare,
  type ExposureTotal,
  type JobExposure,
  jobExposureSchema,
} from "@tormr/protocol/admin-api";
import { MasterError } from "./master-error.ts";

type Kind = "input" | "mapOutput";

/** What one bucket holds: its records and bytes, and which total it belongs to. */
interface BucketFacts {
  kind: Kind;
  records: number;
  bytes: number;
}

/**
 * The job's exposure. While its buckets exist, each counts with its records and plaintext size;
 * when the job ends this is kept on the job (finish-job.ts), before its buckets are deleted. A job
 * that ended before that was kept counts each bucket the ledger saw as the largest single read of
 * it (whole reads are the rule; a resumed download's parts are each smaller).
 * @throws MasterError `ERR_NO_JOB`.
 */
export async function jobExposure(db: JobHostDb, jobId: string): Promise<JobExposure> {
  const job = await db.job.findUnique({ where: { id: jobId }, select: { exposure: true } });
  if (!job) throw new MasterError("ERR_NO_JOB", `no job ${jobId} on this job host`);
  if (job.exposure) return jobExposureSchema.parse(JSON.parse(job.exposure));
  const kindOf = await bucketKinds(db, jobId);
  const facts = new Map<string, BucketFacts>();
  const buckets = await db.bucket.findMany({
    where: { job: jobId },
    select: { id: true, records: true, size: true, plainSize: true },
  });
  for (const bucket of buckets) {
    const kind = kindOf(bucket.id);
    if (!kind) continue;
    const bytes = Number(bucket.plainSize ?? bucket.size);
    facts.set(bucket.id, { kind, records: bucket.records, bytes });
  }
  const live = new Set(facts.keys());
  // One row per (worker, bucket): a bucket read twice counts once.
  const reads = await db.exposure.groupBy({
    by: ["pseudonym", "bucket"],
    where: { job: jobId },
    _max: { records: true, bytes: true },
  });
  for (const read of reads) {
    const kind = kindOf(read.bucket);
    if (!kind || live.has(read.bucket)) continue;
    const known = facts.get(read.bucket);
    facts.set(read.bucket, {
      kind,
      records: Math.max(known?.records ?? 0, read._max.records ?? 0),
      bytes: Math.max(known?.bytes ?? 0, Number(read._max.bytes ?? 0)),
    });
  }
  const totals = { input: emptyTotal(), mapOutput: emptyTotal() };
  for (const bucket of facts.values()) add(totals[bucket.kind], bucket);
  const workers = new Map<string, Record<Kind, ExposureShare>>();
  const shareOf = (pseudonym: string) => {
    let share = workers.get(pseudonym);
    if (!share) {
      share = {
        input: { ...emptyTotal(), buckets: 0 },
        mapOutput: { ...emptyTotal(), buckets: 0 },
      };
      workers.set(pseudonym, share);
    }
    return share;
  };
  const joined = await db.worker.findMany({ where: { job: jobId }, select: { pseudonym: true } });
  for (const { pseudonym } of joined) shareOf(pseudonym);
  for (const read of reads) {
    const bucket = facts.get(read.bucket);
    if (!bucket) continue;
    const share = shareOf(read.pseudonym)[bucket.kind];
    add(share, bucket);
    share.buckets++;
  }
  return {
    input: totals.input,
    mapOutput: totals.mapOutput,
    workers: [...workers]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([pseudonym, share]) => ({ pseudonym, ...share })),
  };
}

/**
 * Which total a bucket id counts in: a split `j/<job>/split/…`, or a partitioned map output of the
 * attempt that won its map (what reducers read). Other buckets (losing attempts, reduce outputs, a
 * map-only job's outputs, which only the job host reads) count in neither.
 */
async function bucketKinds(
  db: JobHostDb,
  jobId: string,
): Promise<(id: string) => Kind | undefined> {
  const commits = await db.commit.findMany({
    where: { job: jobId },
    select: { task: true, attempt: true },
  });
  const winners = new Map(commits.map((c) => [c.task, c.attempt]));
  const splits = `j/${jobId}/split/`;
  return (id) => {
    if (id.startsWith(splits)) return "input";
    const output = parseMapOutputId(id);
    if (output?.job === jobId && winners.get(`m${output.map}`) === output.attempt)
      return "mapOutput";
    return undefined;
  };
}

function emptyTotal(): ExposureTotal {
  return { records: 0, bytes: 0 };
}

function add(total: ExposureTotal, bucket: BucketFacts): void {
  total.records += bucket.records;
  total.bytes += bucket.bytes;
}

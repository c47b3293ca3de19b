// Who saw how much of a job: its split and committed map-output buckets, each worker's distinct share of them from the exposure ledger, and how near that came to the job's exposure cap.
import { parseMapOutputId } from "@tormr/crypto/bucket-id";
import type { JobHostDb } from "@tormr/db/job-host";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import {
  type ExposureReached,
  type ExposureShare,
  type ExposureTotal,
  type JobExposure,
  jobExposureSchema,
} from "@tormr/protocol/admin-api";
import { reachedShares } from "./exposure-budget.ts";
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
  const job = await db.job.findUnique({
    where: { id: jobId },
    select: { exposure: true, spec: true },
  });
  if (!job) throw new MasterError("ERR_NO_JOB", `no job ${jobId} on this job host`);
  const settings = jobSettings(JSON.parse(job.spec) as JobSpec);
  const cap = settings.exposureCap;
  const k = settings.exposureCollusion;
  if (job.exposure) return keptExposure(JSON.parse(job.exposure), cap, k);
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
  // A decoy (#8) re-shows sampled input records: they count for the worker that read them, never
  // in the job's own totals, so a share is of the real input and errs high, never low.
  const decoys = await db.task.findMany({
    where: { job: jobId, checkKind: "decoy" },
    select: { index: true },
  });
  const decoyPrefixes = decoys.map((d) => `j/${jobId}/split/${d.index}/`);
  const totals = { input: emptyTotal(), mapOutput: emptyTotal() };
  for (const [id, bucket] of facts) {
    if (!decoyPrefixes.some((prefix) => id.startsWith(prefix))) add(totals[bucket.kind], bucket);
  }
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
  const held = { input: new Map<string, Set<string>>(), mapOutput: new Map<string, Set<string>>() };
  for (const read of reads) {
    const bucket = facts.get(read.bucket);
    if (!bucket) continue;
    const share = shareOf(read.pseudonym)[bucket.kind];
    add(share, bucket);
    share.buckets++;
    const seen = held[bucket.kind].get(read.pseudonym) ?? new Set<string>();
    held[bucket.kind].set(read.pseudonym, seen.add(read.bucket));
  }
  const records = new Map([...facts].map(([id, bucket]) => [id, bucket.records]));
  const reached = (kind: Kind) =>
    reachedShares({ records, total: totals[kind].records, held: held[kind] }, k);
  return {
    input: totals.input,
    mapOutput: totals.mapOutput,
    workers: [...workers]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([pseudonym, share]) => ({ pseudonym, ...share })),
    cap,
    collusion: k,
    reached: { input: reached("input"), mapOutput: reached("mapOutput") },
  };
}

/**
 * The exposure kept on a job when it ended. One kept before caps existed gets the job's cap and
 * what it reached from its workers' shares (the k largest added up: never less than their union).
 */
function keptExposure(kept: unknown, cap: number | null, k: number): JobExposure {
  const fields = kept as Partial<JobExposure>;
  if (fields.reached) return jobExposureSchema.parse(kept);
  const base = jobExposureSchema.omit({ cap: true, collusion: true, reached: true }).parse(kept);
  const reached = (kind: Kind): ExposureReached => {
    const total = base[kind].records;
    const shares = base.workers
      .map((w) => (total > 0 ? w[kind].records / total : 0))
      .sort((a, b) => b - a);
    const top = shares.slice(0, k).reduce((sum, share) => sum + share, 0);
    return { maxShare: shares[0] ?? 0, maxUnionShare: Math.min(top, 1) };
  };
  return {
    ...base,
    cap,
    collusion: k,
    reached: { input: reached("input"), mapOutput: reached("mapOutput") },
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

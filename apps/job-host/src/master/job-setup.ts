// A new job's durable start: its exposure cap checked, its code bundle, its rows (job and tasks), and its splits sealed into the store.
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { splitBucketId } from "@tormr/crypto/bucket-id";
import { newBucketKey, seal } from "@tormr/crypto/bucket-seal";
import { wrapKey, wrappedKeyToString } from "@tormr/crypto/key-wrap";
import type { RawKeyPair } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import { countLines } from "@tormr/mapreduce/byte-string";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { readSegment } from "@tormr/mapreduce/input-reader";
import {
  DECOY_KEY,
  EXPOSURE_CAP_KEY,
  type JobSettings,
  type JobSpec,
  jobSettings,
  REPLICATION_KEY,
  SPOT_CHECK_KEY,
} from "@tormr/mapreduce/job-spec";
import { planSplits, type Segment, type Split } from "@tormr/mapreduce/splits";
import { validateJob } from "@tormr/mapreduce/validate-job";
import { type BucketCodec, compressStream } from "@tormr/protocol/bucket-codec";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import { packBundle } from "@tormr/task-runner/code-bundle";
import { jsJobAsStreamingSpec } from "@tormr/task-runner/js-streaming";
import { through } from "@tormr/task-runner/through";
import { build } from "esbuild";
import type { BucketStore } from "../store/bucket-store.ts";
import { drawIndexes, type HostSplit, plantDecoys, secretDraw, shareCount } from "./decoys.ts";
import { clusterRefusal, reducersRefusal, splitsRefusal } from "./exposure-budget.ts";
import { pinCompression } from "./job-compression.ts";

export interface NewJobOptions {
  /** The image the job's programs run in: `tormr/python` (default) or `tormr/node`. */
  image?: string;
  /** The cluster size the requester expects: under an exposure cap, one too small is refused. */
  workers?: number;
}

/** Where a job's decoy files go. */
export interface CheckPlan {
  decoyDir: string;
}

/**
 * Checks the job, packs its code, and records it with its tasks, all before any worker can see it.
 * The output folder is created here, so that a second job cannot claim it.
 * @throws MapReduceError for a bad spec, missing input or an existing output folder.
 */
export async function setUpJob(
  db: JobHostDb,
  codeDir: string,
  given: JobSpec,
  options: NewJobOptions,
  plan: CheckPlan,
): Promise<void> {
  await validateJob(given);
  const settings = jobSettings(given);
  refuseUnderCap(settings, given.numReduceTasks, options.workers);
  refuseChecks(settings);
  // Fresh secret bytes per job: nobody, the requester included, can predict which are checked.
  const draw = secretDraw(undefined, given.id);
  const real = await countUnderCap(
    settings,
    await planSplits(given.inputs, settings.splitSizeBytes),
  );
  const splits = await plantDecoys(
    real,
    shareCount(real.length, settings.decoyRate),
    plan.decoyDir,
    draw,
  );
  await mkdir(codeDir, { recursive: true });
  // A JS job runs as streaming commands in the worker's sandbox, never in a worker's own process.
  const spec = pinCompression(
    given.task.kind === "js" ? await jsAsStreaming(given, codeDir) : given,
  );
  const bundle = await packBundle(spec.files, join(codeDir, `${spec.id}.tar`)).finally(async () => {
    // The bundled JS module's staging folder: its file is in the bundle now.
    const staged = spec.files.find((file) => file.startsWith(join(codeDir, ".module-")));
    if (staged) await rm(dirname(staged), { recursive: true, force: true });
  });
  await rename(bundle.path, join(codeDir, `${bundle.digest}.tar`));
  const workerJob: WorkerJob = {
    id: spec.id,
    task: spec.task,
    numReduceTasks: spec.numReduceTasks,
    files: spec.files.map((file) => basename(file)),
    cmdenv: spec.cmdenv,
    conf: spec.conf,
    codeDigest: bundle.digest,
    codeBytes: bundle.bytes,
    image: options.image ?? (given.task.kind === "js" ? "tormr/node" : "tormr/python"),
  };
  // Like Hadoop, the output's parent folders are made; the output folder itself must be new.
  await mkdir(dirname(spec.output), { recursive: true });
  await mkdir(spec.output, { recursive: false }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EEXIST") {
      throw new MapReduceError("ERR_OUTPUT_EXISTS", `output folder already exists: ${spec.output}`);
    }
    throw error;
  });
  const tasks = [
    ...splits.map((split) => ({
      kind: "map",
      index: split.index,
      name: `m${split.index}`,
      checkKind: split.decoyOf === undefined ? null : "decoy",
    })),
    ...Array.from({ length: spec.numReduceTasks }, (_, r) => ({
      kind: "reduce",
      index: r,
      name: `r${r}`,
      checkKind: null as string | null,
    })),
  ];
  // The spot checks: a secret draw among the real tasks, as many as the rate asks (rounded up).
  const checkable = tasks.filter((t) => t.checkKind === null);
  for (const i of drawIndexes(
    checkable.length,
    shareCount(checkable.length, settings.spotCheckRate),
    draw,
  )) {
    (checkable[i] as (typeof tasks)[number]).checkKind = "spot";
  }
  await db.$transaction([
    db.job.create({
      data: {
        id: spec.id,
        spec: JSON.stringify(spec),
        workerJob: JSON.stringify(workerJob),
        splits: JSON.stringify(splits),
        state: "preparing",
        maps: splits.length,
        reduces: spec.numReduceTasks,
      },
    }),
    db.task.createMany({
      data: tasks.map((t) => ({ job: spec.id, ...t, state: "pending" })),
    }),
  ]);
}

/**
 * Refuses spot checks and decoys beside replication (which already compares every task), and
 * decoys under an exposure cap (their sampled records would be seen a second time, uncounted).
 * @throws MapReduceError `ERR_BAD_CONF`.
 */
function refuseChecks(settings: JobSettings) {
  const checks = settings.spotCheckRate > 0 || settings.decoyRate > 0;
  if (checks && settings.replication > 1) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${REPLICATION_KEY}=${settings.replication} already compares every task's results; spot checks (-D ${SPOT_CHECK_KEY}) and decoys (-D ${DECOY_KEY}) are for jobs without replicas: set one or the other`,
    );
  }
  if (settings.decoyRate > 0 && settings.exposureCap !== null) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${DECOY_KEY} plants decoys of sampled input records, which -D ${EXPOSURE_CAP_KEY} would not count: under an exposure cap use spot checks (-D ${SPOT_CHECK_KEY}) alone`,
    );
  }
}

/**
 * Refuses a job whose exposure cap cannot be kept whatever the data: too few reducers (even
 * perfectly balanced partitions pass it), or too small a cluster (n × cap < k).
 * @throws MapReduceError `ERR_BAD_CONF`.
 */
function refuseUnderCap(settings: JobSettings, reduces: number, workers: number | undefined) {
  if (settings.exposureCap === null) return;
  const cap = { cap: settings.exposureCap, collusion: settings.exposureCollusion };
  const refusal =
    reducersRefusal(reduces, cap) ?? (workers ? clusterRefusal(workers, cap) : undefined);
  if (refusal) throw new MapReduceError("ERR_BAD_CONF", refusal);
}

/**
 * Under an exposure cap, each split with its records, counted here as sealing will count them
 * (shares are of records, and grants must be weighed before any is sealed); a split (or k) over
 * the cap is refused. Without a cap the input is not read twice.
 * @throws MapReduceError `ERR_BAD_CONF`.
 */
async function countUnderCap(
  settings: JobSettings,
  splits: Split[],
): Promise<(Split & { records?: number })[]> {
  if (settings.exposureCap === null) return splits;
  const cap = { cap: settings.exposureCap, collusion: settings.exposureCollusion };
  const counted: (Split & { records: number })[] = [];
  for (const split of splits) {
    let records = 0;
    for (const segment of split.segments) {
      for await (const chunk of readSegment(segment)) records += countLines(chunk);
    }
    counted.push({ ...split, records });
  }
  const refusal = splitsRefusal(
    counted.map((split) => ({
      label: splitLabel(split),
      records: split.records,
      bytes: split.bytes,
    })),
    cap,
    settings.splitSizeBytes,
  );
  if (refusal) throw new MapReduceError("ERR_BAD_CONF", refusal);
  return counted;
}

/** "3 (a.txt, bytes 0-30000)", or "(a.txt, bytes 0-700, and 4 more files)" for packed small files. */
function splitLabel(split: Split): string {
  const [first] = split.segments;
  if (!first) return String(split.index);
  const more = split.segments.length - 1;
  const others = more > 0 ? `, and ${more} more file${more === 1 ? "" : "s"}` : "";
  return `${split.index} (${basename(first.path)}, bytes ${first.start}-${first.end}${others})`;
}

/**
 * The JS job as streaming commands (see js-streaming.ts), its module first bundled by esbuild into
 * one `.mjs`: TypeScript and relative imports then work in the sandbox's plain node.
 */
export async function jsAsStreaming(spec: JobSpec, codeDir: string): Promise<JobSpec> {
  if (spec.task.kind !== "js") return spec;
  const staging = await mkdtemp(join(codeDir, ".module-"));
  const name = basename(spec.task.module).replace(/\.[cm]?[jt]s$/, "");
  const outfile = join(staging, `${name}.mjs`);
  try {
    await build({
      entryPoints: [spec.task.module],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outfile,
      logLevel: "silent",
    });
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new MapReduceError(
      "ERR_BAD_JOB_MODULE",
      `job module ${spec.task.module} does not build: ${(error as Error).message.split("\n")[0]}`,
    );
  }
  return jsJobAsStreamingSpec({ ...spec, task: { kind: "js", module: outfile } });
}

/**
 * Compresses and seals every segment of every split under its own key, skipping those already
 * stored (a restart resumes where it stopped). Each key is kept in the bucket's row, wrapped to the
 * job host, with its plaintext size. `onSealed` hears of each split as soon as it is stored, so its
 * map can start.
 */
export async function sealSplits(
  store: BucketStore,
  db: JobHostDb,
  host: RawKeyPair,
  issuer: string,
  job: { id: string; compression: BucketCodec },
  splits: HostSplit[],
  onSealed: (split: number) => void,
): Promise<void> {
  const { id: jobId, compression } = job;
  for (const split of splits) {
    for (const [index, segment] of split.segments.entries()) {
      const id = splitBucketId(jobId, split.index, index);
      const stored = await db.bucket.findUnique({ where: { id }, select: { key: true } });
      if (stored?.key) continue;
      // A crash mid-seal can leave a row without its key, or a file without its row: both go.
      await store.removeBucket(id);
      const sealed = await putSealedSegment(store, id, segment, issuer, split.index, compression);
      await db.bucket.update({
        where: { id },
        data: {
          key: wrappedKeyToString(wrapKey(sealed.key, id, host.publicKey)),
          plainSize: BigInt(sealed.plainBytes),
        },
      });
    }
    onSealed(split.index);
  }
}

/**
 * Compresses and seals one segment of a split (whole lines, as a mapper reads them) under a fresh
 * key into bucket `id`, counting its records and plaintext bytes as it streams. Returns the key and
 * the plaintext size.
 */
export async function putSealedSegment(
  store: BucketStore,
  id: string,
  segment: Segment,
  issuer: string,
  map: number,
  compression: BucketCodec,
): Promise<{ key: Buffer; plainBytes: number }> {
  const key = newBucketKey();
  let records = 0;
  let plainBytes = 0;
  const counted = async function* () {
    for await (const chunk of readSegment(segment)) {
      records += countLines(chunk);
      plainBytes += chunk.length;
      yield chunk;
    }
  };
  const plain = Readable.from(counted(), { objectMode: false });
  const packed = through(
    plain,
    compressStream(compression, { sizeHint: segment.end - segment.start }),
  );
  await store.put(id, through(packed, seal(key, id)), Number.MAX_SAFE_INTEGER, {
    pseudonym: issuer,
    task: `m${map}`,
    attempt: 0,
    // Read once the bytes are all in: the count is only known then.
    records: () => records,
  });
  return { key, plainBytes };
}

// A new job's durable start: its code bundle, its rows (job and tasks), and its splits sealed into the store.
import { mkdir, rename } from "node:fs/promises";
import { basename, join } from "node:path";
import { Readable } from "node:stream";
import { splitBucketId } from "@tormr/crypto/bucket-id";
import { newBucketKey, seal } from "@tormr/crypto/bucket-seal";
import { wrapKey, wrappedKeyToString } from "@tormr/crypto/key-wrap";
import type { RawKeyPair } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import { countLines } from "@tormr/mapreduce/byte-string";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { readSegment } from "@tormr/mapreduce/input-reader";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import { planSplits, type Split } from "@tormr/mapreduce/splits";
import { validateJob } from "@tormr/mapreduce/validate-job";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import { packBundle } from "@tormr/task-runner/code-bundle";
import { through } from "@tormr/task-runner/through";
import type { BucketStore } from "../store/bucket-store.ts";

export interface NewJobOptions {
  /** The image the job's programs run in: `tormr/python` (default) or `tormr/node`. */
  image?: string;
}

/**
 * Checks the job, packs its code, and records it with its tasks, all before any worker can see it.
 * The output folder is created here, so that a second job cannot claim it.
 * @throws MapReduceError for a bad spec, missing input or an existing output folder.
 */
export async function setUpJob(
  db: JobHostDb,
  codeDir: string,
  spec: JobSpec,
  options: NewJobOptions = {},
): Promise<void> {
  await validateJob(spec);
  const settings = jobSettings(spec);
  const splits = await planSplits(spec.inputs, settings.splitSizeBytes);
  await mkdir(codeDir, { recursive: true });
  const code = [...spec.files, ...(spec.task.kind === "js" ? [spec.task.module] : [])];
  const bundle = await packBundle(code, join(codeDir, `${spec.id}.tar`));
  await rename(bundle.path, join(codeDir, `${bundle.digest}.tar`));
  const workerJob: WorkerJob = {
    id: spec.id,
    task: spec.task.kind === "js" ? { kind: "js", module: basename(spec.task.module) } : spec.task,
    numReduceTasks: spec.numReduceTasks,
    files: spec.files.map((file) => basename(file)),
    cmdenv: spec.cmdenv,
    conf: spec.conf,
    codeDigest: bundle.digest,
    codeBytes: bundle.bytes,
    image: options.image ?? (spec.task.kind === "js" ? "tormr/node" : "tormr/python"),
  };
  await mkdir(spec.output, { recursive: false }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EEXIST") {
      throw new MapReduceError("ERR_OUTPUT_EXISTS", `output folder already exists: ${spec.output}`);
    }
    throw error;
  });
  const tasks = [
    ...splits.map((split) => ({ kind: "map", index: split.index, name: `m${split.index}` })),
    ...Array.from({ length: spec.numReduceTasks }, (_, r) => ({
      kind: "reduce",
      index: r,
      name: `r${r}`,
    })),
  ];
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
 * Seals every segment of every split under its own key, skipping those already stored (a restart
 * resumes where it stopped). Each key is kept in the bucket's row, wrapped to the job host.
 * `onSealed` hears of each split as soon as it is stored, so its map can start.
 */
export async function sealSplits(
  store: BucketStore,
  db: JobHostDb,
  host: RawKeyPair,
  issuer: string,
  jobId: string,
  splits: Split[],
  onSealed: (split: number) => void,
): Promise<void> {
  for (const split of splits) {
    for (const [index, segment] of split.segments.entries()) {
      const id = splitBucketId(jobId, split.index, index);
      const stored = await db.bucket.findUnique({ where: { id }, select: { key: true } });
      if (stored?.key) continue;
      if (stored) await store.removeBucket(id);
      const key = newBucketKey();
      let records = 0;
      const counted = async function* () {
        for await (const chunk of readSegment(segment)) {
          records += countLines(chunk);
          yield chunk;
        }
      };
      const sealed = through(Readable.from(counted(), { objectMode: false }), seal(key, id));
      await store.put(id, sealed, Number.MAX_SAFE_INTEGER, {
        pseudonym: issuer,
        task: `m${split.index}`,
        attempt: 0,
        records: () => records,
      });
      await db.bucket.update({
        where: { id },
        data: { key: wrappedKeyToString(wrapKey(key, id, host.publicKey)) },
      });
    }
    onSealed(split.index);
  }
}

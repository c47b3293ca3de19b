// Spot checks and decoy splits (#8): the job host's own run of a task, in its own sandbox, from the buckets it holds; a worker's result must match its outputs' plaintext SHA-256.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { splitBucketId } from "@tormr/crypto/bucket-id";
import { open } from "@tormr/crypto/bucket-seal";
import { unwrapKey, wrappedKeyFromString } from "@tormr/crypto/key-wrap";
import type { RawKeyPair } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { runMapTask } from "@tormr/mapreduce/map-task";
import { runReduceTask } from "@tormr/mapreduce/reduce-task";
import type { RunSegment } from "@tormr/mapreduce/run-reader";
import type { Split } from "@tormr/mapreduce/splits";
import { type BucketCodec, decompressStream } from "@tormr/protocol/bucket-codec";
import { unpadStream } from "@tormr/protocol/bucket-padding";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import { BwrapSandbox } from "@tormr/sandbox/bwrap";
import { bwrapWorks, detectSandbox } from "@tormr/sandbox/detect";
import { ensureImage } from "@tormr/sandbox/images";
import type { Sandbox, SandboxLimits } from "@tormr/sandbox/sandbox";
import { unpackBundle } from "@tormr/task-runner/code-bundle";
import { localJobSpec } from "@tormr/task-runner/run-assignment";
import { sandboxLauncher } from "@tormr/task-runner/sandbox-launcher";
import { through } from "@tormr/task-runner/through";
import type { BucketStore } from "../store/bucket-store.ts";
import { reduceInputs, shownSegments } from "./decoys.ts";
import { storedCompression } from "./job-compression.ts";
import { outputFormat } from "./replication.ts";

/** The sandbox the job host runs its checks in, for a job's image (`tormr/python`, `tormr/node`). */
export type CheckSandbox = (
  image: string,
) => Promise<{ sandbox: Sandbox; image?: string; limits?: SandboxLimits }>;

/**
 * The job host's own sandbox: bubblewrap when it runs here (no image to build), else Docker with
 * the job's image, built once per content hash. Chosen at the first check, then kept.
 */
export function autoCheckSandbox(): CheckSandbox {
  let chosen: Promise<Sandbox> | undefined;
  return async (image) => {
    chosen ??= bwrapWorks().then((works) => (works ? new BwrapSandbox() : detectSandbox()));
    chosen.catch(() => {
      chosen = undefined;
    });
    const sandbox = await chosen;
    if (sandbox.kind !== "docker") return { sandbox };
    return { sandbox, image: await ensureImage(image.endsWith("node") ? "node" : "python") };
  };
}

/** The job host's own run of a task: its outputs' plaintext SHA-256, and the buckets it read. */
export type CheckRun =
  | { digests: string[]; inputs: string[]; stale?: undefined }
  /** A reduce's inputs were undone before or while it ran: it is run again with the reduce. */
  | { stale: true };

/** The job row's fields a check reads. */
export interface CheckedJob {
  id: string;
  spec: string;
  workerJob: string;
  splits: string;
  reduces: number;
}

/**
 * Runs tasks again on the job host. Each task runs once (a second caller gets the same run); the
 * job's code bundle is unpacked once per job under `<stateDir>/checks/<job>`, removed by `forget`.
 */
export class TaskChecker {
  private readonly runs = new Map<string, Promise<CheckRun>>();
  private readonly codeDirs = new Map<string, Promise<string>>();
  /** Runs under way, and those waiting for one to end: at most one per two cores at once. */
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(
    private readonly options: {
      db: JobHostDb;
      store: BucketStore;
      wrapping: RawKeyPair;
      stateDir: string;
      sandbox: CheckSandbox;
      /**
       * Runs at once. Default: one per two cores of this machine, the rest being the store's and
       * the master's (each run holds a task's sort buffer in this process).
       */
      concurrency?: number;
    },
  ) {
    this.limit = options.concurrency ?? Math.max(1, Math.floor(availableParallelism() / 2));
  }

  /**
   * Each output's plaintext SHA-256 of the job host's own run of `task`, in the grant's order,
   * and the input buckets it read.
   */
  expected(job: CheckedJob, task: string): Promise<CheckRun> {
    const key = `${job.id}/${task}`;
    let run = this.runs.get(key);
    if (!run) {
      run = this.queued(() => this.run(job, task)).finally(() => this.runs.delete(key));
      this.runs.set(key, run);
    }
    return run;
  }

  private async queued<T>(fn: () => Promise<T>): Promise<T> {
    while (this.active >= this.limit) await new Promise<void>((go) => this.waiting.push(go));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /** Removes a finished job's unpacked code and working files. */
  async forget(jobId: string): Promise<void> {
    this.codeDirs.delete(jobId);
    await rm(this.jobDir(jobId), { recursive: true, force: true });
  }

  private jobDir(jobId: string) {
    return join(this.options.stateDir, "checks", jobId);
  }

  private codeDir(job: CheckedJob, workerJob: WorkerJob): Promise<string> {
    let dir = this.codeDirs.get(job.id);
    if (!dir) {
      const path = join(this.jobDir(job.id), "code");
      dir = (async () => {
        await rm(path, { recursive: true, force: true });
        await mkdir(path, { recursive: true });
        const bundle = join(this.options.stateDir, "code", `${workerJob.codeDigest}.tar`);
        await unpackBundle(bundle, workerJob.codeDigest, path);
        return path;
      })();
      dir.catch(() => this.codeDirs.delete(job.id));
      this.codeDirs.set(job.id, dir);
    }
    return dir;
  }

  private async run(job: CheckedJob, task: string): Promise<CheckRun> {
    const workerJob = JSON.parse(job.workerJob) as WorkerJob;
    const spec = localJobSpec(workerJob, await this.codeDir(job, workerJob));
    const chosen = await this.options.sandbox(workerJob.image);
    const launch = sandboxLauncher(chosen.sandbox, {
      ...(chosen.limits ? { limits: chosen.limits } : {}),
      ...(chosen.image ? { image: chosen.image } : {}),
    });
    await mkdir(this.jobDir(job.id), { recursive: true });
    const taskDir = await mkdtemp(join(this.jobDir(job.id), `${task}-`));
    const index = Number(task.slice(1));
    const before = task.startsWith("r") ? await reduceInputIds(this.options.db, job.id, index) : [];
    try {
      if (!before) return { stale: true };
      const { paths, inputs } = task.startsWith("m")
        ? await this.runMap(job, spec, index, taskDir, launch)
        : await this.runReduce(job, spec, index, taskDir, launch);
      const digests: string[] = [];
      for (const path of paths) digests.push(await fileDigest(path));
      return { digests, inputs };
    } catch (error) {
      // A map undone under a reduce's run (its worker was caught) takes its buckets away: the
      // reduce runs again once its maps have, and so does this check; nothing failed.
      if (task.startsWith("r")) {
        const now = await reduceInputIds(this.options.db, job.id, index);
        if (now?.join(",") !== before?.join(",")) return { stale: true };
      }
      throw error;
    } finally {
      await rm(taskDir, { recursive: true, force: true });
    }
  }

  /** The map as its worker ran it: the split's segments as the worker was shown them. */
  private async runMap(
    job: CheckedJob,
    spec: JobSpec,
    index: number,
    taskDir: string,
    launch: ReturnType<typeof sandboxLauncher>,
  ): Promise<{ paths: string[]; inputs: string[] }> {
    const split = (JSON.parse(job.splits) as Split[])[index];
    if (!split) throw new Error(`${job.id} has no split ${index}`);
    const shown = {
      index,
      bytes: 0,
      segments: shownSegments(split).map((s) => ({
        path: s.name,
        start: s.start,
        end: s.start + s.length,
      })),
    };
    const ids = split.segments.map((_, i) => splitBucketId(job.id, index, i));
    const opened = await this.openers(
      ids,
      storedCompression(JSON.parse(job.spec) as JobSpec),
      false,
    );
    const result = await runMapTask({
      job: spec,
      split: shown,
      attempt: 0,
      taskDir: join(taskDir, "work"),
      outputDir: join(taskDir, "out"),
      openSegment: (_segment, i) => {
        const open = opened[i];
        if (!open) throw new Error(`split ${index} of ${job.id} has no segment ${i}`);
        return open();
      },
      launch,
    });
    return { paths: result.outputs.map((file) => file.path), inputs: ids };
  }

  /** The reduce as its worker ran it: partition `p` of every committed real map's output. */
  private async runReduce(
    job: CheckedJob,
    spec: JobSpec,
    partition: number,
    taskDir: string,
    launch: ReturnType<typeof sandboxLauncher>,
  ): Promise<{ paths: string[]; inputs: string[] }> {
    const ids = await reduceInputIds(this.options.db, job.id, partition);
    if (!ids) throw new Error(`r${partition} of ${job.id} cannot run: a map is not committed`);
    const format = outputFormat(job, "m0");
    const opened = await this.openers(ids, format.codec, format.padded);
    await mkdir(taskDir, { recursive: true });
    const inputs: RunSegment[] = [];
    for (const [i, open] of opened.entries()) {
      const path = join(taskDir, `in-${i}`);
      await pipeline(open(), createWriteStream(path));
      inputs.push({ path, offset: 0, length: (await stat(path)).size });
    }
    const outputPath = join(taskDir, "part");
    await runReduceTask({
      job: spec,
      partition,
      attempt: 0,
      inputs,
      taskDir: join(taskDir, "work"),
      outputPath,
      launch,
    });
    return { paths: [outputPath], inputs: ids };
  }

  /** For each bucket, a function that opens its plaintext (as a worker's download would). */
  private async openers(
    ids: string[],
    codec: BucketCodec,
    padded: boolean,
  ): Promise<(() => Readable)[]> {
    const rows = await this.options.db.bucket.findMany({
      where: { id: { in: ids } },
      select: { id: true, key: true, plainSize: true },
    });
    return ids.map((id) => {
      const row = rows.find((r) => r.id === id);
      if (!row?.key) throw new Error(`bucket ${id} has no key on the job host`);
      const key = unwrapKey(wrappedKeyFromString(row.key), id, this.options.wrapping);
      const label = `bucket ${id}`;
      return () => {
        const opened = through(this.options.store.readOwn(id), open(key, id));
        const body = padded ? through(opened, unpadStream({ label })) : opened;
        return through(
          body,
          decompressStream(codec, {
            ...(row.plainSize === null ? {} : { plainBytes: Number(row.plainSize) }),
            label,
          }),
        );
      };
    });
  }
}

/** Partition `p` of every committed real map's output, or undefined while a map is not committed. */
export async function reduceInputIds(
  db: JobHostDb,
  jobId: string,
  partition: number,
): Promise<string[] | undefined> {
  const inputs = await reduceInputs(db, jobId, partition);
  const ids = inputs.flatMap((m) => (m.id ? [m.id] : []));
  return ids.length === inputs.length ? ids : undefined;
}

async function fileDigest(path: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), new PassThrough(), async (source) => {
    for await (const chunk of source) hash.update(chunk as Buffer);
  });
  return hash.digest("hex");
}

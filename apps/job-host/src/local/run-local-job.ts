// Runs a job on this machine with N worker processes: maps, then reduces, retries, and an atomic commit.
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { PartitionFile } from "@tormr/mapreduce/collector";
import { Counters } from "@tormr/mapreduce/counters";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";
import type { MapTaskResult } from "@tormr/mapreduce/map-task";
import type { ReduceTaskResult } from "@tormr/mapreduce/reduce-task";
import { planSplits } from "@tormr/mapreduce/splits";
import { partName, taskId } from "@tormr/mapreduce/task-env";
import { validateJob } from "@tormr/mapreduce/validate-job";
import type { TaskRequest } from "./messages.ts";
import type { JobProgress, JobResult, LocalJobOptions } from "./types.ts";
import { AttemptFailed, WorkerPool } from "./worker-pool.ts";

export async function runLocalJob(job: JobSpec, options: LocalJobOptions = {}): Promise<JobResult> {
  const started = performance.now();
  await validateJob(job);
  const settings = jobSettings(job);
  const splits = await planSplits(job.inputs, settings.splitSizeBytes);
  const reduces = job.numReduceTasks;

  await mkdir(job.output, { recursive: false }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EEXIST") {
      throw new MapReduceError("ERR_OUTPUT_EXISTS", `output folder already exists: ${job.output}`);
    }
    throw error;
  });
  const staging = join(job.output, "_temporary");
  await mkdir(staging);
  const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), `tormr-${job.id}-`));
  const pool = new WorkerPool(Math.max(1, options.workers ?? availableParallelism()));
  const counters = new Counters();
  let failedAttempts = 0;
  const progress: JobProgress = {
    jobId: job.id,
    phase: "map",
    maps: { total: splits.length, done: 0, running: 0 },
    reduces: { total: reduces, done: 0, running: 0 },
  };
  const cancel = () => void pool.close();
  options.signal?.addEventListener("abort", cancel, { once: true });
  const report = () => options.onProgress?.(structuredClone(progress));

  /** Runs one task until an attempt succeeds or its attempts are used up. */
  const runTask = async <T>(
    kind: "maps" | "reduces",
    index: number,
    maxAttempts: number,
    request: (attempt: number) => Omit<TaskRequest, "id">,
  ): Promise<T> => {
    const name = taskId(job.id, { type: kind === "maps" ? "m" : "r", index });
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      let started = false;
      try {
        const result = (await pool.run(
          request(attempt),
          (status) => {
            progress.status = status;
            report();
          },
          () => {
            started = true;
            progress[kind].running++;
            report();
          },
        )) as T;
        progress[kind].running--;
        progress[kind].done++;
        report();
        return result;
      } catch (error) {
        if (started) progress[kind].running--;
        if (options.signal?.aborted) {
          throw new MapReduceError("ERR_CANCELLED", `job ${job.id} was cancelled`);
        }
        if (!(error instanceof AttemptFailed)) throw error;
        failedAttempts++;
        const { message, stderrTail } = error.detail;
        if (attempt + 1 >= maxAttempts) {
          const tail = stderrTail.trim() ? `\nlast stderr:\n${stderrTail.trimEnd()}` : "";
          throw new MapReduceError(
            "ERR_JOB_FAILED",
            `${name} failed ${maxAttempts} times; attempt ${attempt}: ${message}${tail}`,
          );
        }
        progress.retry = { task: name, attempt: attempt + 1, message };
        report();
        delete progress.retry;
      }
    }
  };

  try {
    report();
    const maps = await Promise.all(
      splits.map((split) =>
        runTask<MapTaskResult>("maps", split.index, settings.mapMaxAttempts, (attempt) => {
          const taskDir = join(scratch, `m${split.index}.${attempt}`);
          return {
            type: "map",
            options: {
              job,
              split,
              attempt,
              taskDir,
              outputDir:
                reduces === 0 ? join(staging, `m${split.index}.${attempt}`) : join(taskDir, "out"),
            },
          };
        }),
      ),
    );
    for (const map of maps) counters.merge(map.counters);

    const parts: string[] = [];
    if (reduces === 0) {
      for (const [index, map] of maps.entries()) {
        parts.push(await commitPart((map.outputs[0] as PartitionFile).path, job.output, index));
      }
    } else {
      progress.phase = "reduce";
      report();
      const results = await Promise.all(
        Array.from({ length: reduces }, (_, partition) =>
          runTask<ReduceTaskResult>("reduces", partition, settings.reduceMaxAttempts, (attempt) => {
            const taskDir = join(scratch, `r${partition}.${attempt}`);
            return {
              type: "reduce",
              options: {
                job,
                partition,
                attempt,
                inputs: maps.map((m) => {
                  const file = m.outputs[partition] as PartitionFile;
                  return { path: file.path, offset: 0, length: file.bytes };
                }),
                taskDir,
                outputPath: join(staging, `r${partition}.${attempt}.${partName(partition)}`),
              },
            };
          }),
        ),
      );
      for (const [partition, reduce] of results.entries()) {
        counters.merge(reduce.counters);
        parts.push(await commitPart(reduce.outputPath, job.output, partition));
      }
    }
    await rm(staging, { recursive: true, force: true });
    await writeFile(join(job.output, "_SUCCESS"), "");
    progress.phase = "done";
    report();
    return {
      jobId: job.id,
      output: job.output,
      parts,
      counters: counters.toJSON(),
      maps: splits.length,
      reduces,
      failedAttempts,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    // Nothing half-written stays behind: a failed job leaves no output folder.
    await pool.close();
    await rm(job.output, { recursive: true, force: true });
    throw error;
  } finally {
    options.signal?.removeEventListener("abort", cancel);
    await pool.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Task commit: the winning attempt's file is renamed to its final name. */
async function commitPart(from: string, output: string, index: number): Promise<string> {
  const to = join(output, partName(index));
  await rename(from, to);
  return to;
}

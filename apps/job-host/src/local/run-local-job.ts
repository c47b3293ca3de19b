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
import { jsAsStreaming } from "../master/job-setup.ts";
import type { TaskResult } from "./messages.ts";
import { sealedAttempt } from "./sealed-attempt.ts";
import { SealedExchange } from "./sealed-exchange.ts";
import type { JobProgress, JobResult, LocalJobOptions } from "./types.ts";
import { type Attempt, AttemptFailed, WorkerPool } from "./worker-pool.ts";

export async function runLocalJob(
  given: JobSpec,
  options: LocalJobOptions = {},
): Promise<JobResult> {
  const started = performance.now();
  await validateJob(given);
  let job = given;
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
  if (options.sandbox && given.task.kind === "js") {
    // A JS job's functions would run in the task process itself, outside the sandbox: as
    // streaming commands they run inside it, as on a worker.
    job = await jsAsStreaming(given, scratch).catch(async (error: unknown) => {
      await rm(job.output, { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
      throw error;
    });
  }
  const exchange =
    options.seal === false
      ? undefined
      : await SealedExchange.start(
          job.id,
          options.storeDir ?? join(scratch, "store"),
          settings.compression,
        ).catch(async (error: unknown) => {
          // A store that cannot open (a bad storeDir, a corrupt database) leaves nothing behind.
          await rm(job.output, { recursive: true, force: true });
          await rm(scratch, { recursive: true, force: true });
          throw error;
        });
  /** A part file: renamed into place, or for a sealed job decrypted from its bucket first. */
  const commitOutput = async (result: TaskResult, plainPath: string, index: number) => {
    const sealed = result.sealed?.[0];
    if (exchange && sealed) {
      const staged = join(staging, `${index}.${partName(index)}`);
      await exchange.decryptTo(sealed.id, staged);
      return commitPart(staged, job.output, index);
    }
    return commitPart(plainPath, job.output, index);
  };
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
  const runTask = async <T extends TaskResult>(
    kind: "maps" | "reduces",
    index: number,
    maxAttempts: number,
    attemptOf: (attempt: number) => Attempt,
  ): Promise<T> => {
    const name = taskId(job.id, { type: kind === "maps" ? "m" : "r", index });
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      let started = false;
      const { request, settle } = attemptOf(attempt);
      try {
        const result = (await pool.run(
          request,
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
        await settle?.(result);
        progress[kind].running--;
        progress[kind].done++;
        report();
        return result;
      } catch (error) {
        await settle?.(undefined);
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
    // Splits are sealed one after another, and each map starts as soon as its split is stored.
    let sealing = Promise.resolve();
    const splitStored = splits.map((split) => {
      if (!exchange) return Promise.resolve();
      const stored = sealing.then(() => exchange.sealSplit(split));
      sealing = stored;
      stored.catch(() => {}); // awaited by its map; a job that failed first need not hear of it
      return stored;
    });
    const maps = await Promise.all(
      splits.map(async (split) => {
        await splitStored[split.index];
        return runTask<MapTaskResult>("maps", split.index, settings.mapMaxAttempts, (attempt) => {
          const taskDir = join(scratch, `m${split.index}.${attempt}`);
          const base = {
            type: "map" as const,
            ...(options.sandbox ? { sandbox: options.sandbox } : {}),
            options: {
              job,
              split,
              attempt,
              taskDir,
              outputDir:
                reduces === 0 && !exchange
                  ? join(staging, `m${split.index}.${attempt}`)
                  : join(taskDir, "out"),
            },
          };
          if (!exchange) return { request: base };
          return sealedAttempt(exchange, base, (keys) =>
            exchange.mapTask(split.index, attempt, reduces, keys),
          );
        });
      }),
    );
    for (const map of maps) counters.merge(map.counters);

    const parts: string[] = [];
    if (reduces === 0) {
      for (const [index, map] of maps.entries()) {
        parts.push(await commitOutput(map, (map.outputs[0] as PartitionFile).path, index));
      }
    } else {
      progress.phase = "reduce";
      report();
      const results = await Promise.all(
        Array.from({ length: reduces }, (_, partition) =>
          runTask<ReduceTaskResult>("reduces", partition, settings.reduceMaxAttempts, (attempt) => {
            const taskDir = join(scratch, `r${partition}.${attempt}`);
            const base = {
              type: "reduce" as const,
              ...(options.sandbox ? { sandbox: options.sandbox } : {}),
              options: {
                job,
                partition,
                attempt,
                // A sealed reduce fetches its inputs from the store instead.
                inputs: exchange
                  ? []
                  : maps.map((m) => {
                      const file = m.outputs[partition] as PartitionFile;
                      return { path: file.path, offset: 0, length: file.bytes };
                    }),
                taskDir,
                outputPath: exchange
                  ? join(taskDir, partName(partition))
                  : join(staging, `r${partition}.${attempt}.${partName(partition)}`),
              },
            };
            if (!exchange) return { request: base };
            return sealedAttempt(exchange, base, (keys) =>
              exchange.reduceTask(partition, attempt, maps.length, keys),
            );
          }),
        ),
      );
      for (const [partition, reduce] of results.entries()) {
        counters.merge(reduce.counters);
        parts.push(await commitOutput(reduce, reduce.outputPath, partition));
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
    await exchange?.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Task commit: the winning attempt's file is renamed to its final name. */
async function commitPart(from: string, output: string, index: number): Promise<string> {
  const to = join(output, partName(index));
  await rename(from, to);
  return to;
}

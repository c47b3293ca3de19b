// A task attempt's identity, working folder and environment, named as Hadoop names them.
import { cp, mkdir } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Counters } from "./counters.ts";
import type { JobSpec } from "./job-spec.ts";
import type { JobContext } from "./js-job.ts";

export type TaskType = "m" | "r";

export interface TaskIdentity {
  type: TaskType;
  index: number;
  attempt: number;
}

/** `job_202611250912_0001` → `task_202611250912_0001_m_000003`. */
export function taskId(jobId: string, task: Omit<TaskIdentity, "attempt">): string {
  return `task_${jobId.slice("job_".length)}_${task.type}_${String(task.index).padStart(6, "0")}`;
}

/** `attempt_202611250912_0001_m_000003_0`. */
export function attemptId(jobId: string, task: TaskIdentity): string {
  return `attempt_${jobId.slice("job_".length)}_${task.type}_${String(task.index).padStart(6, "0")}_${task.attempt}`;
}

export function partName(index: number): string {
  return `part-${String(index).padStart(5, "0")}`;
}

/** Creates the attempt's working folder with the job's `-file`s copied in, and returns its path. */
export async function prepareWorkDir(job: JobSpec, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const file of job.files) {
    await cp(file, join(dir, basename(file)), { recursive: true, preserveTimestamps: true });
  }
  return dir;
}

/** The environment a streaming program sees: ours, then `-D` keys, task ids, then `-cmdenv`. */
export function taskEnvironment(
  job: JobSpec,
  task: TaskIdentity,
  workDir: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Hadoop Streaming exports every configuration key with non-alphanumerics as underscores.
  for (const [key, value] of Object.entries(job.conf))
    env[key.replace(/[^A-Za-z0-9]/g, "_")] = value;
  Object.assign(env, {
    mapreduce_job_id: job.id,
    mapreduce_task_id: taskId(job.id, task),
    mapreduce_task_attempt_id: attemptId(job.id, task),
    mapreduce_task_ismap: String(task.type === "m"),
    mapreduce_task_partition: String(task.index),
    mapreduce_job_reduces: String(job.numReduceTasks),
    // Shipped files run by bare name, as they do in Hadoop's task folder.
    PATH: `${workDir}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    ...extra,
    ...job.cmdenv,
  });
  return env;
}

/** The `ctx` a JS job's functions receive. */
export function jobContext(
  job: JobSpec,
  task: TaskIdentity,
  inputFile: string,
  counters: Counters,
  onStatus?: (status: string) => void,
): JobContext {
  return {
    jobId: job.id,
    taskId: taskId(job.id, task),
    attemptId: attemptId(job.id, task),
    inputFile,
    partition: task.index,
    conf: job.conf,
    counter: (group, name, amount = 1) => counters.increment(group, name, amount),
    status: (message) => onStatus?.(message),
  };
}

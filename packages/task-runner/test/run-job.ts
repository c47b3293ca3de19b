// Test driver: a whole job through the engine's own map and reduce tasks, in this process, one attempt each.
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PartitionFile } from "@tormr/mapreduce/collector";
import { type CounterRecord, Counters } from "@tormr/mapreduce/counters";
import {
  type JobSpec,
  type JobSpecInput,
  jobSettings,
  parseJobSpec,
} from "@tormr/mapreduce/job-spec";
import { runMapTask } from "@tormr/mapreduce/map-task";
import { runReduceTask } from "@tormr/mapreduce/reduce-task";
import { planSplits } from "@tormr/mapreduce/splits";
import type { Launcher } from "@tormr/mapreduce/streaming-process";
import { partName } from "@tormr/mapreduce/task-env";
import { validateJob } from "@tormr/mapreduce/validate-job";

export interface JobRun {
  /** Every part file's bytes, in part order. */
  parts: Buffer[];
  counters: CounterRecord;
  statuses: string[];
}

let sequence = 0;

export function jobSpec(input: Omit<JobSpecInput, "id">): JobSpec {
  sequence++;
  return parseJobSpec({ id: `job_202611250000_${String(sequence).padStart(4, "0")}`, ...input });
}

/**
 * Maps one after another, then reduces, as the local runner orders them, without its worker
 * processes, retries or sealing: what is compared is the engine's work, and a failure surfaces
 * as the task's own error.
 */
export async function runJob(job: JobSpec, options: { launch?: Launcher } = {}): Promise<JobRun> {
  await validateJob(job);
  const splits = await planSplits(job.inputs, jobSettings(job).splitSizeBytes);
  const scratch = await mkdtemp(join(tmpdir(), "tormr-js-streaming-"));
  const counters = new Counters();
  const statuses: string[] = [];
  const onStatus = (status: string) => statuses.push(status);
  const launch = options.launch ? { launch: options.launch } : {};
  try {
    await mkdir(job.output);
    const maps: PartitionFile[][] = [];
    for (const split of splits) {
      const taskDir = join(scratch, `m${split.index}`);
      const result = await runMapTask({
        job,
        split,
        attempt: 0,
        taskDir,
        outputDir: join(taskDir, "out"),
        onStatus,
        ...launch,
      });
      counters.merge(result.counters);
      maps.push(result.outputs);
    }
    if (job.numReduceTasks === 0) {
      for (const [index, outputs] of maps.entries()) {
        await copyFile((outputs[0] as PartitionFile).path, join(job.output, partName(index)));
      }
    }
    for (let partition = 0; partition < job.numReduceTasks; partition++) {
      const result = await runReduceTask({
        job,
        partition,
        attempt: 0,
        inputs: maps.map((outputs) => {
          const file = outputs[partition] as PartitionFile;
          return { path: file.path, offset: 0, length: file.bytes };
        }),
        taskDir: join(scratch, `r${partition}`),
        outputPath: join(job.output, partName(partition)),
        onStatus,
        ...launch,
      });
      counters.merge(result.counters);
    }
    const names = (await readdir(job.output)).filter((n) => n.startsWith("part-")).sort();
    const parts = await Promise.all(names.map((n) => readFile(join(job.output, n))));
    return { parts, counters: counters.toJSON(), statuses };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

// One reduce task attempt: a k-way merge of every map's partition, through the reducer, to a part file.
import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { countLines, fromByteString, linesToBuffer, toByteString } from "./byte-string.ts";
import { C, type CounterRecord, Counters, FS_GROUP } from "./counters.ts";
import { type JobSpec, jobSettings } from "./job-spec.ts";
import { JS_KEY_SPEC, loadJobModule, recordLine } from "./js-job.ts";
import { KeyGroups } from "./key-groups.ts";
import { type KeySpec, keyLength, mapOutputKeySpec, valuePart } from "./key-spec.ts";
import { type MergedBatch, mergeRuns } from "./merge.ts";
import type { RunSegment } from "./run-reader.ts";
import { RunWriter } from "./run-writer.ts";
import { type Launcher, StreamingProcess } from "./streaming-process.ts";
import {
  attemptId,
  jobContext,
  prepareWorkDir,
  type TaskIdentity,
  taskEnvironment,
} from "./task-env.ts";

export interface ReduceTaskOptions {
  job: JobSpec;
  partition: number;
  attempt: number;
  /** Partition `partition` of every committed map output, each sorted by (key, line). */
  inputs: RunSegment[];
  taskDir: string;
  /** The file to write; the caller commits it by renaming. */
  outputPath: string;
  onStatus?: (status: string) => void;
  /** How streaming programs start: on this machine by default, or in a worker's sandbox. */
  launch?: Launcher;
}

export interface ReduceTaskResult {
  attemptId: string;
  outputPath: string;
  records: number;
  bytes: number;
  counters: CounterRecord;
}

export async function runReduceTask(options: ReduceTaskOptions): Promise<ReduceTaskResult> {
  const { job } = options;
  const identity: TaskIdentity = { type: "r", index: options.partition, attempt: options.attempt };
  const counters = new Counters();
  const workDir = await prepareWorkDir(job, join(options.taskDir, "work"));
  const inputBytes = options.inputs.reduce((n, s) => n + s.length, 0);
  counters.increment(FS_GROUP, C.bytesRead, inputBytes);
  let result: { records: number; bytes: number };
  if (job.task.kind === "js") {
    const keySpec = JS_KEY_SPEC;
    const groups = new KeyGroups(mergeRuns(options.inputs, keySpec));
    const module = await loadJobModule(job.task.module, true);
    const ctx = jobContext(job, identity, "", counters, options.onStatus);
    const writer = await RunWriter.create(options.outputPath);
    const emit = (key: string | number, value: string | number) =>
      writer.add(toByteString(recordLine(key, value)));
    const reduce = module.reduce;
    for (let key = await groups.nextKey(); key !== undefined; key = await groups.nextKey()) {
      const values = groups.values((line) => fromByteString(valuePart(line, key.length, keySpec)));
      await reduce?.(fromByteString(key), values, emit, ctx);
      if (writer.full) await writer.flush();
    }
    await writer.close();
    counters.task(C.reduceInputGroups, groups.groups);
    counters.task(C.reduceInputRecords, groups.records);
    result = { records: writer.records, bytes: writer.bytes };
  } else {
    const settings = jobSettings(job);
    const reducer = new StreamingProcess({
      role: "reducer",
      command: job.task.reducer ?? "cat",
      cwd: workDir,
      env: taskEnvironment(job, identity, workDir),
      counters,
      onStatus: options.onStatus,
      ...(options.launch ? { launch: options.launch } : {}),
    });
    result = await reduceStreaming(
      reducer,
      mergeRuns(options.inputs, mapOutputKeySpec(settings)),
      options.outputPath,
      counters,
      settings.mapOutputSeparator === settings.reduceInputSeparator
        ? undefined
        : { ...mapOutputKeySpec(settings), out: settings.reduceInputSeparator },
    );
  }
  counters.task(C.reduceOutputRecords, result.records);
  counters.increment(FS_GROUP, C.bytesWritten, result.bytes);
  return {
    attemptId: attemptId(job.id, identity),
    outputPath: options.outputPath,
    ...result,
    counters: counters.toJSON(),
  };
}

async function reduceStreaming(
  reducer: StreamingProcess,
  merged: AsyncGenerator<MergedBatch>,
  outputPath: string,
  counters: Counters,
  /** Set when the reducer's separator differs from the map output's: lines are re-joined with it. */
  rejoin: (KeySpec & { out: string }) | undefined,
): Promise<{ records: number; bytes: number }> {
  let records = 0;
  let bytes = 0;
  let last = 10;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      records += countLines(chunk);
      bytes += chunk.length;
      if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
      done(null, chunk);
    },
    flush(done) {
      // A last line without its newline is still a record.
      if (last !== 10) {
        records++;
        bytes++;
        done(null, "\n");
      } else done();
    },
  });
  const feed = async () => {
    let groups = 0;
    let inputRecords = 0;
    let previous: string | undefined;
    try {
      for await (const { lines, keys } of merged) {
        for (const key of keys) {
          if (key !== previous) groups++;
          previous = key;
        }
        inputRecords += lines.length;
        const out = rejoin
          ? lines.map((line) => {
              const k = keyLength(line, rejoin);
              return k >= line.length
                ? line
                : line.slice(0, k) + rejoin.out + valuePart(line, k, rejoin);
            })
          : lines;
        await reducer.write(linesToBuffer(out));
      }
    } finally {
      counters.task(C.reduceInputGroups, groups);
      counters.task(C.reduceInputRecords, inputRecords);
    }
  };
  await reducer.drive(feed, () =>
    pipeline(reducer.stdoutStream, count, createWriteStream(outputPath)),
  );
  return { records, bytes };
}

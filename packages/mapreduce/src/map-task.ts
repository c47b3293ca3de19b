// One map task attempt: a split through the mapper, partitioned, sorted, spilled, combined, merged.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { countLines, LineSplitter } from "./byte-string.ts";
import {
  type Block,
  MapOutputCollector,
  type PartitionFile,
  type SpillCombiner,
} from "./collector.ts";
import { C, type CounterRecord, Counters, FS_GROUP } from "./counters.ts";
import { readSegment } from "./input-reader.ts";
import { type JobSpec, jobSettings } from "./job-spec.ts";
import { JS_KEY_SPEC, loadJobModule } from "./js-job.ts";
import { mapSegmentJs } from "./js-map.ts";
import { mapOutputKeySpec } from "./key-spec.ts";
import { RunWriter } from "./run-writer.ts";
import type { Segment, Split } from "./splits.ts";
import { type Launcher, StreamingProcess } from "./streaming-process.ts";
import {
  attemptId,
  jobContext,
  partName,
  prepareWorkDir,
  type TaskIdentity,
  taskEnvironment,
} from "./task-env.ts";

export interface MapTaskOptions {
  job: JobSpec;
  split: Split;
  attempt: number;
  /** An empty folder of this attempt's own, for its working files and spills. */
  taskDir: string;
  /** Where the partition files (or, for a map-only job, the part file) are written. */
  outputDir: string;
  /**
   * Where a segment's bytes come from: by default the input file itself. A distributed worker
   * passes the opened split bucket instead. Either way: whole lines, ending with a newline.
   */
  openSegment?: (segment: Segment, index: number) => AsyncIterable<Buffer>;
  onStatus?: (status: string) => void;
  /** How streaming programs start: on this machine by default, or in a worker's sandbox. */
  launch?: Launcher;
}

export interface MapTaskResult {
  attemptId: string;
  /** One sorted file per reduce partition, or the single part file of a map-only job. */
  outputs: PartitionFile[];
  counters: CounterRecord;
}

/** Where a mapper's output goes: the sort buffer, or (map-only) straight to the part file. */
export interface MapSink {
  /** Raw streaming output; returns the number of complete records it held. */
  text(chunk: Buffer): number;
  /** A record from a JS job, as byte strings. */
  record(key: string, value: string): void;
  afterBatch(): Promise<void>;
  /** One mapper program has finished: a last line it left unterminated is complete (1 record). */
  endOutput(): number;
  finish(): Promise<PartitionFile[]>;
}

export async function runMapTask(options: MapTaskOptions): Promise<MapTaskResult> {
  const { job, split } = options;
  const identity: TaskIdentity = { type: "m", index: split.index, attempt: options.attempt };
  const counters = new Counters();
  const workDir = await prepareWorkDir(job, join(options.taskDir, "work"));
  const spillDir = join(options.taskDir, "spill");
  await mkdir(spillDir, { recursive: true });
  await mkdir(options.outputDir, { recursive: true });
  const settings = jobSettings(job);
  const keySpec = job.task.kind === "js" ? JS_KEY_SPEC : mapOutputKeySpec(settings);
  const module =
    job.task.kind === "js"
      ? await loadJobModule(job.task.module, job.numReduceTasks > 0)
      : undefined;

  let combiner: SpillCombiner | undefined;
  if (job.task.kind === "streaming" && job.task.combiner && job.numReduceTasks > 0) {
    const command = job.task.combiner;
    combiner = (lines) =>
      pipeThrough(
        {
          role: "combiner",
          command,
          cwd: workDir,
          env: taskEnvironment(job, identity, workDir),
          counters,
          onStatus: options.onStatus,
          ...(options.launch ? { launch: options.launch } : {}),
        },
        lines,
      );
  }

  let sink: MapSink;
  if (job.numReduceTasks === 0) {
    const writer = await RunWriter.create(join(options.outputDir, partName(split.index)));
    let endsLine = true;
    sink = {
      text: (chunk) => {
        writer.addRaw(chunk);
        if (chunk.length > 0) endsLine = chunk[chunk.length - 1] === 10;
        return countLines(chunk);
      },
      record: (key, value) => writer.add(`${key}\t${value}`),
      afterBatch: async () => {
        if (writer.full) await writer.flush();
      },
      endOutput: () => {
        // A mapper's last line without its newline is still a line of the part file.
        if (endsLine) return 0;
        writer.addRaw(Buffer.from("\n"));
        endsLine = true;
        return 1;
      },
      finish: async () => {
        await writer.close();
        counters.increment(FS_GROUP, C.bytesWritten, writer.bytes);
        return [{ partition: 0, path: writer.path, records: writer.records, bytes: writer.bytes }];
      },
    };
  } else {
    const collector = new MapOutputCollector({
      partitions: job.numReduceTasks,
      keySpec,
      budgetBytes: settings.sortBudgetBytes,
      scratchDir: spillDir,
      counters,
      ...(combiner ? { combiner } : {}),
    });
    let carry = "";
    sink = {
      text: (chunk) => {
        const { records, rest } = collector.addText(carry + chunk.toString("latin1"));
        carry = rest;
        return records;
      },
      record: (key, value) => collector.addRecord(key, value),
      afterBatch: () => collector.maybeSpill(),
      endOutput: () => {
        if (carry.length === 0) return 0;
        collector.add(carry);
        carry = "";
        return 1;
      },
      finish: () => collector.finish((p) => join(options.outputDir, `map-${split.index}.p${p}`)),
    };
  }

  const openSegment = options.openSegment ?? readSegment;
  for (const [index, segment] of split.segments.entries()) {
    const input = openSegment(segment, index);
    if (module) {
      await mapSegmentJs(
        module,
        input,
        sink,
        counters,
        jobContext(job, identity, segment.path, counters, options.onStatus),
        settings.sortBudgetBytes,
        job.numReduceTasks === 0,
      );
    } else if (job.task.kind === "streaming") {
      const env = taskEnvironment(job, identity, workDir, {
        mapreduce_map_input_file: segment.path,
        mapreduce_map_input_start: String(segment.start),
        mapreduce_map_input_length: String(segment.end - segment.start),
      });
      const mapper = new StreamingProcess({
        role: "mapper",
        command: job.task.mapper,
        cwd: workDir,
        env,
        counters,
        onStatus: options.onStatus,
        ...(options.launch ? { launch: options.launch } : {}),
      });
      await mapSegmentStreaming(mapper, input, sink, counters);
    }
  }
  const outputs = await sink.finish();
  return { attemptId: attemptId(job.id, identity), outputs, counters: counters.toJSON() };
}

async function mapSegmentStreaming(
  mapper: StreamingProcess,
  input: AsyncIterable<Buffer>,
  sink: MapSink,
  counters: Counters,
): Promise<void> {
  const feed = async () => {
    for await (const chunk of input) {
      counters.task(C.mapInputRecords, countLines(chunk));
      counters.increment(FS_GROUP, C.bytesRead, chunk.length);
      await mapper.write(chunk);
    }
  };
  const consume = async () => {
    let records = 0;
    let bytes = 0;
    for await (const chunk of mapper.stdout) {
      records += sink.text(chunk);
      bytes += chunk.length;
      await sink.afterBatch();
    }
    records += sink.endOutput();
    counters.task(C.mapOutputRecords, records);
    counters.task(C.mapOutputBytes, bytes);
  };
  await mapper.drive(feed, consume);
}

/** Sends batches of lines through a streaming program (a combiner) and returns what it printed. */
async function pipeThrough(
  options: ConstructorParameters<typeof StreamingProcess>[0],
  blocks: Iterable<Block>,
): Promise<string[]> {
  const program = new StreamingProcess(options);
  return program.drive(
    async () => {
      for (const block of blocks) await program.write(Buffer.from(block.text, "latin1"));
    },
    async () => {
      const out: string[] = [];
      const splitter = new LineSplitter();
      for await (const chunk of program.stdout)
        for (const line of splitter.push(chunk)) out.push(line);
      out.push(...splitter.end());
      return out;
    },
  );
}

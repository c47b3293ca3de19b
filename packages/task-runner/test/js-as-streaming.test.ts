// Every JS job twice through the engine, in process and as a streaming job through js-runner.mjs: the same bytes and counters.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CounterRecord } from "@tormr/mapreduce/counters";
import { TASK_GROUP } from "@tormr/mapreduce/counters";
import type { JobSpecInput } from "@tormr/mapreduce/job-spec";
import { TaskFailure } from "@tormr/mapreduce/task-failure";
import { BwrapSandbox } from "@tormr/sandbox/bwrap";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CombineIn, JOB_CONF_ENV, jsJobAsStreamingSpec } from "../src/js-streaming.ts";
import { sandboxLauncher } from "../src/sandbox-launcher.ts";
import { type CorpusOptions, makeCorpus, writeCorpus } from "./corpus.ts";
import { type JobRun, jobSpec, runJob } from "./run-job.ts";

const ROOT = join(import.meta.dirname, "../../..");
const HOST_FIXTURES = join(ROOT, "apps/job-host/test/fixtures");
const OWN_FIXTURES = join(import.meta.dirname, "fixtures");
const EXAMPLE = join(ROOT, "examples/wordcount/wordcount.mjs");
/** Each corpus file (about 70 kB) is cut into two splits. */
const SPLITS = { "mapreduce.input.fileinputformat.split.maxsize": "50000" };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tormr-js-as-streaming-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;
function input(options: CorpusOptions = {}, files = 3, bytes = 70_000): string {
  return writeCorpus(join(dir, `in-${++runs}`), files, bytes, 11 * runs, options);
}

type JobInput = Omit<JobSpecInput, "id" | "output" | "task"> & {
  module: string;
  combineIn?: CombineIn;
};

/** The job as a JS job and as its streaming form, same id and settings, each with its own output. */
async function bothForms({ module, combineIn, ...rest }: JobInput) {
  const out = join(dir, `out-${++runs}`);
  const js = jobSpec({ ...rest, output: `${out}-js`, task: { kind: "js", module } });
  const streaming = await jsJobAsStreamingSpec(
    { ...js, output: `${out}-streaming` },
    combineIn ? { combineIn } : {},
  );
  return { js, streaming };
}

/** Both forms run; nothing compared. */
async function runBoth(job: JobInput): Promise<[JobRun, JobRun]> {
  const { js, streaming } = await bothForms(job);
  return [await runJob(js), await runJob(streaming)];
}

/** Counters without the named task counters (each exception says why where it is made). */
function without(counters: CounterRecord, names: string[]): CounterRecord {
  const task = { ...counters[TASK_GROUP] };
  for (const name of names) delete task[name];
  return { ...counters, [TASK_GROUP]: task };
}

async function expectSame(job: JobInput, differ: string[] = []): Promise<[JobRun, JobRun]> {
  const [inProcess, asStreaming] = await runBoth(job);
  expect(asStreaming.parts.length).toBe(inProcess.parts.length);
  for (const [i, part] of inProcess.parts.entries()) {
    // Buffer.equals, not toEqual, so that a failure does not print megabytes of bytes.
    expect(part.equals(asStreaming.parts[i] as Buffer), `part ${i} differs`).toBe(true);
  }
  expect(without(asStreaming.counters, differ)).toEqual(without(inProcess.counters, differ));
  expect(asStreaming.statuses).toEqual(inProcess.statuses);
  return [inProcess, asStreaming];
}

// Non-ASCII map output: the engine counts a JS job's MAP_OUTPUT_BYTES in UTF-16 code units
// (js-map.ts: k.length + v.length + 2), a streaming job's in bytes of the mapper's stdout.
const UTF16_BYTES = ["MAP_OUTPUT_BYTES"];

// Every streaming task starts node (about 0.1 s here), so a job of a dozen tasks takes seconds.
describe("a JS job as a streaming job gives the engine's bytes and counters", {
  timeout: 60_000,
}, () => {
  it.each([
    ["wordcount.mjs (combine)", join(HOST_FIXTURES, "wordcount.mjs"), 3],
    ["wordcount-nocombine.mjs", join(HOST_FIXTURES, "wordcount-nocombine.mjs"), 2],
    ["input-file.mjs (ctx.inputFile, ctx.counter)", join(HOST_FIXTURES, "input-file.mjs"), 2],
    ["map-only.mjs", join(HOST_FIXTURES, "map-only.mjs"), 0],
    ["examples/wordcount", EXAMPLE, 3],
    ["a default-exported job object", join(OWN_FIXTURES, "default-export.mjs"), 2],
  ])("%s", async (_, module, numReduceTasks) => {
    const [inProcess] = await expectSame(
      { module, numReduceTasks, inputs: [input({ crlf: 0.05 })], conf: SPLITS },
      UTF16_BYTES,
    );
    expect(inProcess.counters[TASK_GROUP]?.MAP_INPUT_RECORDS).toBeGreaterThan(5000);
  });

  it("combine in the mapper: values in the engine's order, ctx.inputFile, one combine per file", async () => {
    // Files smaller than a split, so that each split holds several (one mapper each).
    const packed = writeCorpus(join(dir, `packed-${++runs}`), 7, 9_000, 5);
    const [inProcess] = await expectSame(
      {
        module: join(OWN_FIXTURES, "combine-order.mjs"),
        numReduceTasks: 2,
        inputs: [packed],
        conf: SPLITS,
      },
      UTF16_BYTES,
    );
    expect(inProcess.parts.join("")).toContain("file-3.txt:");
  });

  it("combine in the mapper, run again each time the buffer passes the sort budget", async () => {
    const conf = { "mapreduce.task.io.sort.mb": "1" };
    const module = join(OWN_FIXTURES, "combine-order.mjs");
    // Ending with its newline: where the engine adds one, it reads it as a chunk of its own, a
    // check of the buffer that the runner, reading both at once, cannot tell apart (see js-runner.mjs).
    const file = join(dir, `budget-${++runs}.txt`);
    writeFileSync(file, makeCorpus(6_000_000, 3));
    const inputs = [file];
    const [inProcess] = await expectSame({ module, numReduceTasks: 2, inputs, conf }, UTF16_BYTES);
    const c = inProcess.counters[TASK_GROUP] ?? {};
    // More combined records than keys: each key's buffer was combined several times.
    expect(c.COMBINE_OUTPUT_RECORDS).toBeGreaterThan((c.REDUCE_INPUT_GROUPS ?? 0) * 3);
  });

  it("combine as a Hadoop combiner: sorted values, no input file, once per split", async () => {
    const packed = writeCorpus(join(dir, `packed-${++runs}`), 7, 9_000, 5);
    const job: Omit<JobInput, "module"> = {
      numReduceTasks: 2,
      inputs: [packed],
      conf: SPLITS,
      combineIn: "combiner",
    };
    // Word count sums, so its output is the same however it was combined; its combine
    // counters are not: per split here, per file in process.
    const [inProcess, asStreaming] = await runBoth({ ...job, module: EXAMPLE });
    expect(Buffer.concat(asStreaming.parts).equals(Buffer.concat(inProcess.parts))).toBe(true);
    const c = (run: JobRun) => run.counters[TASK_GROUP] ?? {};
    expect(c(asStreaming).COMBINE_INPUT_RECORDS).toBe(c(inProcess).COMBINE_INPUT_RECORDS);
    expect(c(asStreaming).COMBINE_OUTPUT_RECORDS).toBeLessThan(
      c(inProcess).COMBINE_OUTPUT_RECORDS ?? 0,
    );
    // A combine that shows its input: in process, its file; as a combiner, none.
    const text = (run: JobRun) => run.parts.map((p) => p.toString()).join("");
    const shown = await runBoth({ ...job, module: join(OWN_FIXTURES, "combine-order.mjs") });
    expect(text(shown[0])).toContain("file-3.txt:");
    expect(text(shown[1])).not.toContain("file-");
    expect(text(shown[1])).toMatch(/(^|[\t ]):\d+:/);
  });

  it("async map and reduce, ctx fields and conf, counters and statuses", async () => {
    const conf = { ...SPLITS, "my.setting": "a=b, c", "stream.num.map.output.key.fields": "2" };
    const [inProcess] = await expectSame(
      { module: join(OWN_FIXTURES, "context.mjs"), numReduceTasks: 2, inputs: [input()], conf },
      UTF16_BYTES,
    );
    expect(inProcess.counters.Context?.Groups).toBeGreaterThan(5);
    expect(inProcess.statuses.length).toBeGreaterThan(10);
  });

  it("number keys and values", async () => {
    await expectSame({
      module: join(OWN_FIXTURES, "numbers.mjs"),
      numReduceTasks: 3,
      inputs: [input()],
      conf: SPLITS,
    });
  });

  it("unicode: astral characters, lone surrogates, invalid UTF-8 input, CRLF", async () => {
    await expectSame(
      {
        module: join(OWN_FIXTURES, "unicode.mjs"),
        numReduceTasks: 3,
        inputs: [input({ crlf: 0.3, badBytes: 0.2 })],
        conf: SPLITS,
      },
      UTF16_BYTES,
    );
  });

  it("a reduce that emits nothing for most groups and leaves their values unread", async () => {
    await expectSame(
      {
        module: join(OWN_FIXTURES, "reduce-nothing.mjs"),
        numReduceTasks: 2,
        inputs: [input()],
        conf: SPLITS,
      },
      UTF16_BYTES,
    );
  });

  it("groups far larger than a read or a batch", async () => {
    const [inProcess] = await expectSame(
      {
        module: join(OWN_FIXTURES, "large-group.mjs"),
        numReduceTasks: 1,
        inputs: [input({}, 4, 400_000)],
      },
      UTF16_BYTES,
    );
    expect(inProcess.counters[TASK_GROUP]?.REDUCE_INPUT_RECORDS).toBeGreaterThan(40_000);
    expect(inProcess.counters[TASK_GROUP]?.REDUCE_INPUT_GROUPS).toBe(2);
  });

  it("empty input: a file of one blank line, and an empty file", async () => {
    const empty = join(dir, `empty-${++runs}`);
    const blank = join(dir, `blank-${runs}.txt`);
    mkdirSync(empty);
    writeFileSync(join(empty, "empty.txt"), "");
    writeFileSync(blank, "\n");
    for (const [module, numReduceTasks] of [
      ["wordcount.mjs", 2],
      ["input-file.mjs", 2],
      ["map-only.mjs", 0],
    ] as const) {
      for (const inputs of [[blank], [empty]]) {
        await expectSame({ module: join(HOST_FIXTURES, module), numReduceTasks, inputs });
      }
    }
  });

  it("a last line without its newline", async () => {
    const file = join(dir, `bare-${++runs}.txt`);
    writeFileSync(file, "alpha beta\r\nbeta\ngamma gamma é");
    const [, asStreaming] = await expectSame(
      { module: join(HOST_FIXTURES, "wordcount-nocombine.mjs"), numReduceTasks: 1, inputs: [file] },
      UTF16_BYTES,
    );
    expect(asStreaming.parts[0]?.toString()).toBe("alpha\t1\nbeta\t2\ngamma\t2\né\t1\n");
  });

  it("a key holding a TAB fails both forms with the engine's message", async () => {
    const { js, streaming } = await bothForms({
      module: join(HOST_FIXTURES, "bad-emit.mjs"),
      numReduceTasks: 1,
      inputs: [input({}, 1, 1_000)],
    });
    const inProcess = await runJob(js).catch((e: unknown) => e);
    const asStreaming = await runJob(streaming).catch((e: unknown) => e);
    expect(inProcess).toMatchObject({ code: "ERR_BAD_RECORD" });
    expect(asStreaming).toBeInstanceOf(TaskFailure);
    const failure = asStreaming as TaskFailure;
    expect(failure.exitCode).toBe(1);
    expect(failure.message).toBe("mapper 'node js-runner.mjs map bad-emit.mjs' exited with code 1");
    expect(failure.stderrTail).toContain((inProcess as Error).message);
    expect(failure.stderrTail).toContain("bad-emit.mjs:3");
  });
});

describe("the streaming form in bubblewrap", { timeout: 60_000 }, () => {
  it.each([
    ["async map and reduce, ctx and counters", join(OWN_FIXTURES, "context.mjs")],
    ["examples/wordcount, combine in the mapper", EXAMPLE],
  ])("%s: the in-process job's bytes and counters", async (_, module) => {
    const { js, streaming } = await bothForms({
      module,
      numReduceTasks: 2,
      inputs: [input({ crlf: 0.1, badBytes: 0.05 })],
      conf: { ...SPLITS, "my.setting": "sandboxed" },
    });
    expect(streaming.cmdenv[JOB_CONF_ENV]).toContain("sandboxed");
    const inProcess = await runJob(js);
    const sandboxed = await runJob(streaming, { launch: sandboxLauncher(new BwrapSandbox()) });
    expect(sandboxed.parts.map((p) => p.toString("latin1"))).toEqual(
      inProcess.parts.map((p) => p.toString("latin1")),
    );
    expect(without(sandboxed.counters, UTF16_BYTES)).toEqual(
      without(inProcess.counters, UTF16_BYTES),
    );
    expect(sandboxed.statuses).toEqual(inProcess.statuses);
  });
});

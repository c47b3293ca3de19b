// js-runner.mjs on its own, fed by hand: exit codes, ctx from the environment, stderr protocol, bounded memory.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { JOB_CONF_ENV, JS_RUNNER_PATH } from "../src/js-streaming.ts";

const CASES = join(import.meta.dirname, "fixtures/runner-cases.mjs");
const LARGE_GROUP = join(import.meta.dirname, "fixtures/large-group.mjs");

interface RunnerRun {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

interface RunnerOptions {
  input?: string | Buffer | Iterable<Buffer>;
  env?: Record<string, string>;
  conf?: Record<string, string>;
  nodeArgs?: string[];
  /** Milliseconds before stdout is first read, so that the pipe fills. */
  readAfter?: number;
}

async function runner(args: string[], options: RunnerOptions = {}): Promise<RunnerRun> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...options.env };
  if (options.conf) env[JOB_CONF_ENV] = JSON.stringify(options.conf);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), JS_RUNNER_PATH, ...args], {
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.on("error", () => {});
  const input = options.input ?? "";
  const feeding =
    typeof input === "string" || Buffer.isBuffer(input)
      ? new Promise<void>((done) => child.stdin.end(input, done))
      : pipeline(Readable.from(input), child.stdin).catch(() => {});
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  if (options.readAfter) {
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), options.readAfter);
  }
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  const [code] = (await once(child, "close")) as [number | null];
  await feeding;
  return { code, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString() };
}

describe("js-runner.mjs", () => {
  it("exits 2 on bad usage and on a malformed configuration, saying what it expected", async () => {
    const none = await runner([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      "js-runner: usage: node js-runner.mjs <map|map-combine|combine|reduce> <module file>; got []\n",
    );
    expect((await runner(["shuffle", CASES])).code).toBe(2);
    const conf = await runner(["map", CASES], { env: { [JOB_CONF_ENV]: '["a"]' } });
    expect(conf.code).toBe(2);
    expect(conf.stderr).toContain(`${JOB_CONF_ENV}: expected a JSON object of strings`);
  });

  it("exits 3 for a module that does not load or lacks the role's function", async () => {
    const missing = await runner(["map", "/nonexistent/job.mjs"]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/job module \/nonexistent\/job.mjs failed to load: /);
    const noCombine = await runner(["combine", CASES]);
    expect(noCombine.code).toBe(3);
    expect(noCombine.stderr).toContain(
      `job module ${CASES} must export a function 'combine', got nothing`,
    );
  });

  it("exits 1 when map rejects, with the error's stack and a last line naming the function", async () => {
    const run = await runner(["map", CASES], { input: "1\n2\n3\n4\n", conf: { case: "reject" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Error: boom on line 3\n    at map (file://");
    expect(run.stderr.trimEnd().split("\n").at(-1)).toBe(`map in ${CASES} failed: boom on line 3`);
  });

  it("maps lines as the engine does: CR dropped, bad bytes as U+FFFD, a bare last line kept", async () => {
    const input = Buffer.concat([
      Buffer.from("a\r\n\nb"),
      Buffer.from([0xff]),
      Buffer.from("\nlast"),
    ]);
    const run = await runner(["map", CASES], { input });
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toBe("a\t1\n\t0\nb\uFFFD\t2\nlast\t4\n");
  });

  it("groups by the key's bytes: two bad bytes are two keys, though both read as U+FFFD", async () => {
    const bytes = (text: string) => Buffer.from(text, "latin1");
    const input = bytes("\x80\tA\n\x81\tB\n\x81\tC\nno tab\nno tab\tx\n\tempty key");
    const run = await runner(["reduce", CASES], { input });
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toBe(
      '"\uFFFD"\t["A"]\n"\uFFFD"\t["B","C"]\n"no tab"\t["","x"]\n""\t["empty key"]\n',
    );
  });

  it("gives ctx from the task's environment and the configuration's JSON", async () => {
    const env = {
      mapreduce_job_id: "job_1_0001",
      mapreduce_task_id: "task_1_0001_m_000004",
      mapreduce_task_attempt_id: "attempt_1_0001_m_000004_2",
      mapreduce_task_partition: "4",
      mapreduce_map_input_file: "/in/a.txt",
    };
    const conf = { case: "ctx", "mapreduce.job.name": "x, y" };
    const map = await runner(["map", CASES], { input: "l\n", env, conf });
    const fields = {
      jobId: "job_1_0001",
      taskId: "task_1_0001_m_000004",
      attemptId: "attempt_1_0001_m_000004_2",
      inputFile: "/in/a.txt",
      partition: 4,
      conf,
    };
    expect(map.stdout.toString()).toBe(`${JSON.stringify(fields)}\tl\n`);
    // A reducer (or a combiner) reads no input file, whatever its environment says.
    const reduce = await runner(["reduce", CASES], { input: "k\tv\n", env, conf });
    expect(reduce.stdout.toString()).toBe(`k\t${JSON.stringify({ ...fields, inputFile: "" })}\n`);
  });

  it("reports counter totals once, at the end, and statuses as one line each", async () => {
    const run = await runner(["map", CASES], { input: "a\nb\nc\n", conf: { case: "counter" } });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(
      [
        "reporter:status:line a",
        "reporter:status:line b",
        "reporter:status:line c",
        "reporter:counter:Group,Name, with comma,9",
        "reporter:counter:Other,Lines,1.5",
        "",
      ].join("\n"),
    );
  });

  it("map-combine combines as the engine does, and reports the counters only it can see", async () => {
    const wordcount = join(
      import.meta.dirname,
      "../../../apps/job-host/test/fixtures/wordcount.mjs",
    );
    const run = await runner(["map-combine", wordcount], { input: "a b a\nb c\n" });
    expect(run.stdout.toString()).toBe("a\t2\nb\t2\nc\t1\n");
    const task = "reporter:counter:org.apache.hadoop.mapreduce.TaskCounter";
    // The engine counts the 3 records (12 bytes) it reads; the map emitted 5 (20 bytes).
    expect(run.stderr).toBe(
      [
        `${task},COMBINE_INPUT_RECORDS,5`,
        `${task},COMBINE_OUTPUT_RECORDS,3`,
        `${task},MAP_OUTPUT_RECORDS,2`,
        `${task},MAP_OUTPUT_BYTES,8`,
        "",
      ].join("\n"),
    );
  });

  it("refuses a counter group holding a comma, which the stderr protocol cannot carry", async () => {
    const run = await runner(["map", CASES], { input: "a\n", conf: { case: "comma-counter" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      'ctx.counter("Group, with comma", "Name"): a group may hold no comma',
    );
  });

  it("sends console output to stderr, keeping stdout for records", async () => {
    const run = await runner(["map", CASES], { input: "x\ny\n", conf: { case: "console" } });
    expect(run.stdout.toString()).toBe("x\t\ny\t\n");
    expect(run.stderr).toBe("log x\ninfo\nlog y\ninfo\n");
  });

  it("waits while stdout is full instead of piling output up", async () => {
    const input = Buffer.from("line\n".repeat(20_000));
    const run = await runner(["map", CASES], { input, conf: { case: "flood" }, readAfter: 1000 });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBe(20_000 * 10_006);
  });

  it("streams a 200 MB group through a 16 MB heap", async () => {
    const line = Buffer.from(`even\t${"x".repeat(95)}\n`.repeat(10_000));
    const chunks = (function* () {
      for (let i = 0; i < 200; i++) yield line;
    })();
    const run = await runner(["reduce", LARGE_GROUP], {
      input: chunks,
      nodeArgs: ["--max-old-space-size=16"],
    });
    expect(run.stderr).toBe("");
    expect(run.stdout.toString()).toMatch(/^even\t2000000 -?\d+\n$/);
  }, 60_000);
});

// Tests of the tormr command in-process, with a fake job runner: help, usage errors, exit codes.
import { Writable } from "node:stream";
import { C, TASK_GROUP } from "@tormr/mapreduce/counters";
import { MapReduceError } from "@tormr/mapreduce/errors";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { describe, expect, it } from "vitest";
import { EXIT } from "../src/cli/exit-codes.ts";
import { RUN_FLAGS, STREAMING_FLAGS } from "../src/cli/flags.ts";
import type { InterruptWatch } from "../src/cli/interrupt.ts";
import { type CliIo, main } from "../src/cli/main.ts";
import { type RunLocalJob, runJob } from "../src/cli/run-job.ts";
import type { JobResult, LocalJobOptions } from "../src/local/types.ts";

class Capture extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

const never: () => InterruptWatch = () => ({ interrupted: new Promise(() => {}), dispose() {} });

function fakeResult(spec: JobSpec): JobResult {
  return {
    jobId: spec.id,
    output: spec.output,
    parts: [`${spec.output}/part-00000`],
    counters: { [TASK_GROUP]: { [C.mapInputRecords]: 2 } },
    maps: 1,
    reduces: 1,
    failedAttempts: 0,
    durationMs: 1200,
  };
}

function setup(runner?: RunLocalJob, watch: () => InterruptWatch = never) {
  const stdout = new Capture();
  const stderr = new Capture();
  const calls: Array<{ spec: JobSpec; options: LocalJobOptions }> = [];
  const runLocalJob: RunLocalJob = async (spec, options) => {
    calls.push({ spec, options });
    return runner ? runner(spec, options) : fakeResult(spec);
  };
  const io: CliIo = {
    stdout,
    stderr,
    cwd: "/work/here",
    debug: false,
    loadRunner: async () => runLocalJob,
    watchInterrupts: watch,
  };
  return { io, stdout, stderr, calls, tormr: (...args: string[]) => main(args, io) };
}

const JOB = ["-input", "in", "-output", "out", "-mapper", "cat"];

describe("help and version", () => {
  it("prints the version", async () => {
    const { tormr, stdout } = setup();
    expect(await tormr("--version")).toBe(0);
    expect(stdout.text).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it("lists the commands and exit codes", async () => {
    const { tormr, stdout } = setup();
    expect(await tormr("--help")).toBe(0);
    for (const word of ["streaming", "jar", "run", "Exit codes:", "130"]) {
      expect(stdout.text).toContain(word);
    }
  });

  it.each([
    ["streaming", STREAMING_FLAGS],
    ["jar", STREAMING_FLAGS],
    ["run", RUN_FLAGS],
  ] as const)("documents every flag of %s, whichever way help is asked", async (command, flags) => {
    for (const ask of [
      [command, "--help"],
      [command, "-help"],
      ["help", command],
      [command, "-input", "x", "-h"],
    ]) {
      const { tormr, stdout } = setup();
      expect(await tormr(...ask)).toBe(0);
      for (const flag of flags) expect(stdout.text).toContain(`${flag.spelling} ${flag.value}`);
      expect(stdout.text).toContain(`Usage: tormr ${command} `);
    }
  });

  it("shows help on stderr with exit 2 when no command is given", async () => {
    const { tormr, stdout, stderr } = setup();
    expect(await tormr()).toBe(EXIT.usage);
    expect(stdout.text).toBe("");
    expect(stderr.text).toContain("Usage: tormr");
  });
});

describe("usage errors", () => {
  it.each([
    [["strming"], "tormr: unknown command 'strming' (did you mean streaming?); see tormr --help\n"],
    [
      ["streaming", ...JOB, "-inptu", "x"],
      "tormr: unknown flag -inptu (did you mean -input?); see tormr streaming --help\n",
    ],
    [["streaming", ...JOB, "-D", "oops"], "tormr: -D oops: expected key=value, but no '=' in it\n"],
    [
      ["streaming", "-input", "in"],
      "tormr: missing required flags -output <dir>, -mapper <cmd>; see tormr streaming --help\n",
    ],
    [["streaming", ...JOB, "-reducer"], "tormr: -reducer needs a value: -reducer <cmd>\n"],
    [
      ["run", "-input", "i", "-output", "o"],
      expect.stringMatching(/^tormr: missing the job module; /),
    ],
  ])("%j exits 2 with one line", async (args, message) => {
    const { tormr, stderr, calls } = setup();
    expect(await tormr(...args)).toBe(EXIT.usage);
    expect(stderr.text).toEqual(message);
    expect(stderr.text.trimEnd().split("\n")).toHaveLength(1);
    expect(calls).toEqual([]);
  });

  it("leaves words after the command, such as -V, to the command", async () => {
    const { tormr, calls } = setup();
    expect(await tormr("streaming", ...JOB, "-D", "-Vx=1")).toBe(0);
    expect(calls[0]?.spec.conf).toEqual({ "-Vx": "1" });
  });
});

describe("running a job", () => {
  it("passes an absolute spec and the worker count, then prints the summary on stdout", async () => {
    const progressRunner: RunLocalJob = async (spec, options) => {
      const base = {
        jobId: spec.id,
        phase: "map" as const,
        reduces: { total: 1, done: 0, running: 0 },
      };
      options.onProgress?.({ ...base, maps: { total: 1, done: 0, running: 1 } });
      options.onProgress?.({ ...base, maps: { total: 1, done: 1, running: 0 } });
      return fakeResult(spec);
    };
    const { tormr, stdout, stderr, calls } = setup(progressRunner);
    expect(await tormr("jar", "x.jar", ...JOB, "--workers", "3", "-reducer", "NONE")).toBe(0);
    const call = calls[0]!;
    expect(call.spec).toMatchObject({
      inputs: ["/work/here/in"],
      output: "/work/here/out",
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 0,
    });
    expect(call.options.workers).toBe(3);
    expect(call.options.signal).toBeInstanceOf(AbortSignal);
    expect(stderr.text).toBe(
      `Running job ${call.spec.id} on a job host with 3 tormr-worker processes\nmap 0/1 reduce 0/1\nmap 1/1 reduce 0/1\n`,
    );
    expect(stdout.text).toContain(`Job ${call.spec.id} completed successfully in 1.2 s\n`);
    expect(stdout.text).toContain("Counters: 1\n");
    expect(stdout.text).toContain("Output directory: /work/here/out (1 part file)\n");
  });

  it("defaults the worker count to the number of cores", async () => {
    const { tormr, calls } = setup();
    await tormr("run", "job.mjs", "-input", "i", "-output", "o");
    expect(calls[0]?.options.workers).toBeGreaterThanOrEqual(1);
    expect(calls[0]?.spec.task).toEqual({ kind: "js", module: "/work/here/job.mjs" });
  });

  it("prints parser warnings before the job starts", async () => {
    const { tormr, stderr } = setup();
    await tormr("streaming", ...JOB, "-reducer", "uniq", "-numReduceTasks", "0");
    expect(stderr.text.split("\n")[0]).toBe(
      "tormr: warning: -reducer 'uniq' is ignored: the job is map-only (0 reduce tasks)",
    );
  });

  it.each([
    [
      new MapReduceError("ERR_INPUT_MISSING", "input path does not exist: /work/here/in"),
      3,
      "tormr: input path does not exist: /work/here/in\n",
    ],
    [
      new MapReduceError("ERR_NOT_EXECUTABLE", "mapper 'cat' was not found"),
      3,
      "tormr: mapper 'cat' was not found\n",
    ],
    [
      new MapReduceError("ERR_JOB_FAILED", "task_x failed 4 times: boom\nlast stderr:\noops"),
      4,
      "tormr: task_x failed 4 times: boom; try the failing script by hand, e.g. head input | mapper | sort | reducer\n  last stderr:\n  oops\n",
    ],
    [
      new TypeError("undefined is not a function"),
      1,
      "tormr: internal error: undefined is not a function; this is a bug in tormr; rerun with TORMR_DEBUG=1 for the stack trace\n",
    ],
  ])("reports %s with exit %d and no stack trace", async (error, exitCode, expected) => {
    const { tormr, stderr, stdout } = setup(async () => {
      throw error;
    });
    expect(await tormr("streaming", ...JOB)).toBe(exitCode);
    expect(stderr.text).toMatch(
      /^Running job job_\d+_\d+ on a job host with \d+ tormr-worker process(es)?\n/,
    );
    expect(stderr.text.slice(stderr.text.indexOf("\n") + 1)).toBe(expected);
    expect(stdout.text).toBe("");
  });

  it("refuses a bad -D setting with exit 3 before running", async () => {
    const { tormr, stderr, calls } = setup();
    expect(await tormr("streaming", ...JOB, "-D", "mapreduce.map.maxattempts=0")).toBe(
      EXIT.badInput,
    );
    expect(stderr.text).toMatch(
      /^tormr: -D mapreduce.map.maxattempts=0: expected a positive whole number/,
    );
    expect(calls).toEqual([]);
  });

  it("cancels the job through its signal on Ctrl-C and exits 130", async () => {
    let interrupt: (code: 130) => void = () => {};
    let disposed = false;
    const watch = () => ({
      interrupted: new Promise<130>((resolve) => {
        interrupt = resolve;
      }),
      dispose: () => {
        disposed = true;
      },
    });
    const runner: RunLocalJob = (spec, options) =>
      new Promise((_, reject) => {
        options.signal?.addEventListener("abort", () =>
          reject(new MapReduceError("ERR_CANCELLED", `job ${spec.id} was cancelled`)),
        );
        setTimeout(() => interrupt(130), 5);
      });
    const { tormr, stderr, calls } = setup(runner, watch);
    expect(await tormr("streaming", ...JOB)).toBe(EXIT.sigint);
    expect(calls[0]?.options.signal?.aborted).toBe(true);
    expect(stderr.text).toMatch(
      /tormr: interrupted; stopping job job_\d+_\d+ \(Ctrl-C again quits at once\)\n$/,
    );
    expect(disposed).toBe(true);
  });

  it("gives up waiting for a cancelled job that never settles", async () => {
    const stderr = new Capture();
    const code = await runJob(
      { ...parsedJob(), workers: 1 },
      {
        runLocalJob: () => new Promise(() => {}),
        stdout: new Capture(),
        stderr,
        cwd: "/w",
        cancelGraceMs: 10,
        watchInterrupts: () => ({ interrupted: Promise.resolve(EXIT.sigterm), dispose() {} }),
      },
    );
    expect(code).toBe(143);
  });
});

function parsedJob() {
  return {
    command: "streaming" as const,
    inputs: ["i"],
    output: "o",
    mapper: "cat",
    combiner: undefined,
    reducer: undefined,
    numReduceTasks: 1,
    files: [],
    cmdenv: {},
    conf: {},
    workers: undefined,
    seal: true,
    local: false,
    jobHost: undefined,
    tor: false,
    sandbox: "none" as const,
    warnings: [],
  };
}

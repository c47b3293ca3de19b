// Unit tests of error reporting: exit codes, one-line messages, hints, no stack traces.
import { MapReduceError, type MapReduceErrorCode } from "@tormr/mapreduce/errors";
import { describe, expect, it } from "vitest";
import { formatCommanderError } from "../src/cli/commander-message.ts";
import { EXIT, reportError } from "../src/cli/exit-codes.ts";
import { UsageError } from "../src/cli/usage-error.ts";

describe("reportError", () => {
  it("reports a usage error on one line with its hint, exit 2", () => {
    const report = reportError(
      new UsageError("ERR_UNKNOWN_FLAG", "unknown flag -x", "see tormr streaming --help"),
    );
    expect(report).toEqual({
      exitCode: 2,
      line: "tormr: unknown flag -x; see tormr streaming --help",
      details: [],
    });
  });

  it.each<[MapReduceErrorCode, number]>([
    ["ERR_INPUT_MISSING", 3],
    ["ERR_INPUT_EMPTY", 3],
    ["ERR_OUTPUT_EXISTS", 3],
    ["ERR_BAD_JOB_SPEC", 3],
    ["ERR_BAD_CONF", 3],
    ["ERR_NOT_EXECUTABLE", 3],
    ["ERR_BAD_JOB_MODULE", 3],
    ["ERR_BAD_RECORD", 4],
    ["ERR_TASK_FAILED", 4],
    ["ERR_JOB_FAILED", 4],
    ["ERR_CANCELLED", 130],
  ])("maps %s to exit %d", (code, exitCode) => {
    expect(reportError(new MapReduceError(code, "x")).exitCode).toBe(exitCode);
  });

  it("adds a hint only when the engine's message lacks one", () => {
    expect(
      reportError(new MapReduceError("ERR_OUTPUT_EXISTS", "output folder already exists: /o")).line,
    ).toBe("tormr: output folder already exists: /o; remove it or choose another -output");
    expect(
      reportError(
        new MapReduceError(
          "ERR_OUTPUT_EXISTS",
          "output folder already exists: /o (remove it or choose another -output)",
        ),
      ).line,
    ).toBe("tormr: output folder already exists: /o (remove it or choose another -output)");
  });

  it("prints the first line of a failed job's message and indents the task's stderr under it", () => {
    const error = new MapReduceError(
      "ERR_JOB_FAILED",
      "task_1_m_000000 failed 4 times; attempt 3: mapper exited with code 1\nlast stderr:\nTraceback\n\nValueError: bad\n",
    );
    const report = reportError(error);
    expect(report.exitCode).toBe(EXIT.jobFailed);
    expect(report.line).toMatch(
      /^tormr: task_1_m_000000 failed 4 times; attempt 3: mapper exited with code 1; try /,
    );
    expect(report.details).toEqual(["  last stderr:", "  Traceback", "  ValueError: bad"]);
  });

  it("never shows a stack trace for engine errors, even when debugging", () => {
    const report = reportError(
      new MapReduceError("ERR_INPUT_MISSING", "input path does not exist: /x"),
      {
        debug: true,
      },
    );
    expect([report.line, ...report.details].join("\n")).not.toMatch(/\n\s+at /);
  });

  it("reports anything else as an internal error, exit 1, with the stack only when debugging", () => {
    const error = new TypeError("x is undefined");
    expect(reportError(error)).toEqual({
      exitCode: 1,
      line: "tormr: internal error: x is undefined; this is a bug in tormr; rerun with TORMR_DEBUG=1 for the stack trace",
      details: [],
    });
    const debug = reportError(error, { debug: true });
    expect(debug.details[0]).toBe("TypeError: x is undefined");
    expect(debug.details.some((l) => /^\s+at /.test(l))).toBe(true);
    expect(reportError("a string").line).toMatch(/^tormr: internal error: a string;/);
  });

  it("keeps the exit code table stable", () => {
    expect(EXIT).toEqual({
      ok: 0,
      internal: 1,
      usage: 2,
      badInput: 3,
      jobFailed: 4,
      sigint: 130,
      sigterm: 143,
    });
  });
});

describe("formatCommanderError", () => {
  it("rewrites commander's unknown command error", () => {
    expect(
      formatCommanderError("error: unknown command 'strming'\n(Did you mean streaming?)\n"),
    ).toBe("tormr: unknown command 'strming' (did you mean streaming?); see tormr --help\n");
  });

  it("tells a user who forgot the command to put it first", () => {
    expect(formatCommanderError("error: unknown option '-input'\n")).toBe(
      "tormr: unknown option '-input'; put the command first, as in: tormr streaming -input <path> …\n",
    );
  });
});

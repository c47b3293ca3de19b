import { describe, expect, it } from "vitest";
import { initialStatus } from "../worker-status.ts";
import { printable } from "./printable.ts";
import { statusLine, ttyReporter } from "./tty-reporter.ts";

const base = initialStatus({
  pid: 1,
  jobHost: "http://h",
  pseudonym: "p",
  sandbox: "docker",
  slots: 2,
  now: new Date(0),
});

describe("the live status line", () => {
  it("shows the job, the first running task and its status, counts and bytes", () => {
    const status = {
      ...base,
      jobId: "job_abc_0001",
      running: [
        { attemptId: "a", task: "m3", attempt: 0, status: "mapping", startedAt: "" },
        { attemptId: "b", task: "m4", attempt: 0, startedAt: "" },
      ],
      counts: { succeeded: 4, failed: 1, cancelled: 0, returned: 0 },
      bytesIn: 1536,
      bytesOut: 3 * 1024 * 1024,
    };
    expect(statusLine(status)).toBe(
      "job_abc_0001 | m3: mapping (+1 more) | done 4, failed 1 | in 1.5 KiB, out 3.0 MiB",
    );
  });

  it("says when it waits, and fits the terminal width", () => {
    expect(statusLine(base)).toBe(
      "joining | waiting for a task | done 0, failed 0 | in 0 B, out 0 B",
    );
    const line = statusLine(base, 20);
    expect(line).toBe("joining | waiting …");
    expect(line.length).toBeLessThan(20);
  });
});

describe("the terminal reporter", () => {
  it("draws the live line under printed lines, even on a pty that reports 0 columns", () => {
    let out = "";
    const reporter = ttyReporter({ write: (text: string) => (out += text), columns: 0 });
    const status = { ...base, jobId: "job_abc_0001" };
    reporter.event({ type: "task-status", attemptId: "a", status: "x" }, status);
    reporter.log("warn", "careful");
    reporter.stop();
    expect(out).toBe(
      "\r\u001b[2Kjob_abc_0001 | waiting for a task | done 0, failed 0 | in 0 B, out 0 B" +
        "\r\u001b[2Ktormr-worker: warning: careful\n" +
        "job_abc_0001 | waiting for a task | done 0, failed 0 | in 0 B, out 0 B" +
        "\r\u001b[2K",
    );
  });
});

describe("printable", () => {
  it("escapes control characters, folds lines and bounds the length", () => {
    expect(printable("a\u001b[31mred\u009b\n\n  b  \r\nc")).toBe("a\\u{1b}[31mred\\u{9b} | b | c");
    expect(printable("x".repeat(50), 10)).toBe(`${"x".repeat(9)}…`);
  });
});

describe("board mode", () => {
  const onBoard = initialStatus({
    pid: 1,
    board: "http://b",
    pseudonym: "p",
    sandbox: "bwrap",
    slots: 1,
    now: new Date(0),
  });

  it("shows waiting on the board, and keeps the live line after a job is over", () => {
    expect(statusLine({ ...onBoard, state: "waiting" })).toBe(
      "board | waiting on the board for a seat | done 0, failed 0 | in 0 B, out 0 B",
    );
    let text = "";
    const reporter = ttyReporter({ write: (t: string) => (text += t), columns: 200 });
    reporter.event({ type: "left", reason: "the job is over" }, { ...onBoard, state: "waiting" });
    reporter.status({ ...onBoard, state: "joining", jobHost: "http://h" });
    expect(text).toContain("Left the job: the job is over");
    expect(
      text.endsWith("joining | reaching the job host | done 0, failed 0 | in 0 B, out 0 B"),
    ).toBe(true);
  });
});

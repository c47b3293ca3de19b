// Unit tests of the plain-line progress reporter used when stderr is not a terminal.
import { describe, expect, it } from "vitest";
import { oneLine } from "../src/cli/one-line.ts";
import { formatProgressLine, formatRetryLine, plainProgress } from "../src/cli/progress-lines.ts";
import type { JobProgress } from "../src/local/types.ts";

function progress(
  maps: [number, number],
  reduces: [number, number],
  extra: Partial<JobProgress> = {},
): JobProgress {
  return {
    jobId: "job_1_0001",
    phase: "map",
    maps: { done: maps[0], total: maps[1], running: 0 },
    reduces: { done: reduces[0], total: reduces[1], running: 0 },
    ...extra,
  };
}

describe("plainProgress", () => {
  it("prints a line only when a count changes", () => {
    const lines: string[] = [];
    const reporter = plainProgress((line) => lines.push(line));
    reporter.update(progress([0, 12], [0, 2]));
    reporter.update({ ...progress([0, 12], [0, 2]), maps: { done: 0, total: 12, running: 4 } });
    reporter.update(progress([3, 12], [0, 2], { status: "working" }));
    reporter.update(progress([12, 12], [0, 2], { phase: "reduce" }));
    reporter.update(progress([12, 12], [2, 2], { phase: "done" }));
    expect(lines).toEqual([
      "map 0/12 reduce 0/2",
      "map 3/12 reduce 0/2",
      "map 12/12 reduce 0/2",
      "map 12/12 reduce 2/2",
    ]);
  });

  it("prints each retry once, before the counts", () => {
    const lines: string[] = [];
    const reporter = plainProgress((line) => lines.push(line));
    const retry = {
      task: "task_1_0001_m_000003",
      attempt: 1,
      message: "mapper exited with code 1",
    };
    reporter.update(progress([0, 4], [0, 1]));
    reporter.update(progress([1, 4], [0, 1], { retry }));
    reporter.update(progress([1, 4], [0, 1], { retry }));
    reporter.update(progress([1, 4], [0, 1], { retry: { ...retry, attempt: 2 } }));
    expect(lines).toEqual([
      "map 0/4 reduce 0/1",
      "retry: task_1_0001_m_000003 attempt 1: mapper exited with code 1",
      "map 1/4 reduce 0/1",
      "retry: task_1_0001_m_000003 attempt 2: mapper exited with code 1",
    ]);
  });

  it("prints nothing after stop", () => {
    const lines: string[] = [];
    const reporter = plainProgress((line) => lines.push(line));
    reporter.stop();
    reporter.update(progress([1, 1], [0, 0]));
    expect(lines).toEqual([]);
  });
});

describe("line formatting", () => {
  it("formats counts and retries", () => {
    expect(formatProgressLine(progress([5, 9], [0, 0]))).toBe("map 5/9 reduce 0/0");
    expect(formatRetryLine({ task: "t", attempt: 3, message: "boom\n  at x\n" })).toBe(
      "retry: t attempt 3: boom | at x",
    );
  });

  it("folds a multi-line message into one bounded line", () => {
    expect(oneLine("a\r\n\n  b  \n")).toBe("a | b");
    expect(oneLine("x".repeat(400), 10)).toBe(`${"x".repeat(9)}…`);
  });
});

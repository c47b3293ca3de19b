// Unit tests of the counters table and the end-of-job summary.
import { C, FS_GROUP, TASK_GROUP } from "@tormr/mapreduce/counters";
import { describe, expect, it } from "vitest";
import { formatCountersTable } from "../src/cli/counters-table.ts";
import { formatDuration, formatJobSummary } from "../src/cli/job-summary.ts";
import type { JobResult } from "../src/local/types.ts";

describe("formatCountersTable", () => {
  it("lists groups in Hadoop's order with Hadoop's names, values aligned", () => {
    const lines = formatCountersTable({
      [TASK_GROUP]: {
        [C.reduceOutputRecords]: 9,
        [C.mapInputRecords]: 1200,
        [C.mapOutputRecords]: 33,
      },
      [FS_GROUP]: { [C.bytesWritten]: 284, [C.bytesRead]: 378_000 },
    });
    expect(lines).toEqual([
      "Counters: 5",
      "  File System Counters",
      "    FILE: Number of bytes read     378000",
      "    FILE: Number of bytes written     284",
      "  Map-Reduce Framework",
      "    Map input records                1200",
      "    Map output records                 33",
      "    Reduce output records               9",
    ]);
  });

  it("puts user groups after the built-in ones, sorted, with unknown counters sorted", () => {
    const lines = formatCountersTable({
      zeta: { b: 2, a: 1 },
      alpha: { only: 0 },
      [TASK_GROUP]: { CUSTOM_TASK_THING: 7, [C.spilledRecords]: 3 },
    });
    expect(lines).toEqual([
      "Counters: 5",
      "  Map-Reduce Framework",
      "    Spilled Records    3",
      "    CUSTOM_TASK_THING  7",
      "  alpha",
      "    only               0",
      "  zeta",
      "    a                  1",
      "    b                  2",
    ]);
  });

  it("names every built-in engine counter", () => {
    const fs = new Set<string>([C.bytesRead, C.bytesWritten]);
    const all = Object.values(C);
    const lines = formatCountersTable({
      [FS_GROUP]: Object.fromEntries(all.filter((n) => fs.has(n)).map((n) => [n, 1])),
      [TASK_GROUP]: Object.fromEntries(all.filter((n) => !fs.has(n)).map((n) => [n, 1])),
    });
    expect(lines[0]).toBe(`Counters: ${all.length}`);
    for (const line of lines.slice(1)) expect(line).not.toMatch(/[A-Z]{3,}_[A-Z]+/);
  });

  it("prints an empty table as Counters: 0", () => {
    expect(formatCountersTable({})).toEqual(["Counters: 0"]);
  });

  it("does not let a group named like an Object method get in the way", () => {
    expect(formatCountersTable({ constructor: { toString: 1 } })).toEqual([
      "Counters: 1",
      "  constructor",
      "    toString  1",
    ]);
  });
});

describe("formatJobSummary", () => {
  const result: JobResult = {
    jobId: "job_202501020304_0042",
    output: "/data/out",
    parts: ["/data/out/part-00000", "/data/out/part-00001"],
    counters: { [TASK_GROUP]: { [C.mapInputRecords]: 6 } },
    maps: 1,
    reduces: 2,
    failedAttempts: 0,
    durationMs: 3049,
  };

  it("states the outcome, the tasks, the counters and the output folder", () => {
    expect(formatJobSummary(result)).toEqual([
      "Job job_202501020304_0042 completed successfully in 3.0 s",
      "  1 map task, 2 reduce tasks",
      "Counters: 1",
      "  Map-Reduce Framework",
      "    Map input records  6",
      "Output directory: /data/out (2 part files)",
    ]);
  });

  it("mentions retried attempts", () => {
    expect(formatJobSummary({ ...result, failedAttempts: 1 })[1]).toBe(
      "  1 map task, 2 reduce tasks, 1 failed attempt retried",
    );
  });

  it("formats durations", () => {
    expect(formatDuration(0)).toBe("0.0 s");
    expect(formatDuration(59_940)).toBe("59.9 s");
    expect(formatDuration(60_000)).toBe("1 min 00 s");
    expect(formatDuration(3_725_400)).toBe("62 min 05 s");
  });
});

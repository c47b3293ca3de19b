// Unit tests of JobSpec building: absolute paths, job ids, task kinds.

import { makeJobId } from "@tormr/mapreduce/job-id";
import { jobSpecSchema } from "@tormr/mapreduce/job-spec";
import { describe, expect, it } from "vitest";
import { buildJobSpec } from "../src/cli/build-spec.ts";
import { parseRunArgs, parseStreamingArgs } from "../src/cli/hadoop-args.ts";
import { localPath } from "../src/cli/local-path.ts";
import { UsageError } from "../src/cli/usage-error.ts";

const NOW = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
const options = { cwd: "/home/me/work", now: NOW, random: () => 0.0042 };

function streamingSpec(argv: string[]) {
  const args = parseStreamingArgs(argv);
  if (args.command === "help") throw new Error("unexpected help");
  return buildJobSpec(args, options);
}

describe("makeJobId", () => {
  it("looks like Hadoop's job_<yyyyMMddHHmm>_<4 digits>", () => {
    expect(makeJobId(NOW, () => 0.0042)).toBe("job_202501020304_0042");
    expect(makeJobId(NOW, () => 0)).toBe("job_202501020304_0000");
    expect(makeJobId(NOW, () => 0.99999)).toBe("job_202501020304_9999");
  });

  it("tells nothing of the requester's time zone: the time is UTC", () => {
    const before = process.env.TZ;
    try {
      for (const tz of ["America/Los_Angeles", "Asia/Kolkata", "UTC"]) {
        process.env.TZ = tz;
        expect(makeJobId(NOW, () => 0)).toBe("job_202501020304_0000");
      }
    } finally {
      process.env.TZ = before;
    }
  });

  it("matches the job spec's id rule", () => {
    const id = makeJobId(new Date());
    expect(jobSpecSchema.shape.id.safeParse(id).success).toBe(true);
    expect(id).toMatch(/^job_\d{12}_\d{4}$/);
  });
});

describe("buildJobSpec", () => {
  it("builds a streaming spec with absolute paths", () => {
    const spec = streamingSpec([
      "-input",
      "books,/abs/more",
      "-output",
      "../out",
      "-mapper",
      "python3 m.py",
      "-combiner",
      "python3 r.py",
      "-reducer",
      "python3 r.py",
      "-file",
      "m.py",
      "-files",
      "r.py,lib/x.txt",
      "-cmdenv",
      "LANG=C",
      "-D",
      "stream.map.output.field.separator=,",
      "-numReduceTasks",
      "3",
    ]);
    expect(spec).toEqual({
      id: "job_202501020304_0042",
      inputs: ["/home/me/work/books", "/abs/more"],
      output: "/home/me/out",
      task: {
        kind: "streaming",
        mapper: "python3 m.py",
        combiner: "python3 r.py",
        reducer: "python3 r.py",
      },
      numReduceTasks: 3,
      files: ["/home/me/work/m.py", "/home/me/work/r.py", "/home/me/work/lib/x.txt"],
      cmdenv: { LANG: "C" },
      conf: { "stream.map.output.field.separator": "," },
    });
  });

  it("leaves the reducer out of a map-only spec", () => {
    const spec = streamingSpec([
      "-input",
      "i",
      "-output",
      "o",
      "-mapper",
      "cat",
      "-reducer",
      "NONE",
    ]);
    expect(spec.task).toEqual({ kind: "streaming", mapper: "cat" });
    expect(spec.numReduceTasks).toBe(0);
  });

  it("builds a js spec with the module's absolute path", () => {
    const args = parseRunArgs(["jobs/wc.mjs", "-input", "i", "-output", "o"]);
    if (args.command === "help") throw new Error("unexpected help");
    const spec = buildJobSpec(args, options);
    expect(spec.task).toEqual({ kind: "js", module: "/home/me/work/jobs/wc.mjs" });
    expect(spec).toMatchObject({ files: [], cmdenv: {}, numReduceTasks: 1 });
  });

  it("lets the engine refuse a bad -D setting", () => {
    expect(() =>
      streamingSpec([
        "-input",
        "i",
        "-output",
        "o",
        "-mapper",
        "cat",
        "-D",
        "mapreduce.task.io.sort.mb=lots",
      ]),
    ).toThrow(expect.objectContaining({ code: "ERR_BAD_CONF" }));
  });
});

describe("localPath", () => {
  it("resolves relative paths and file: URLs", () => {
    expect(localPath("-input", "a/../b", "/w")).toBe("/w/b");
    expect(localPath("-input", "/x/y/", "/w")).toBe("/x/y");
    expect(localPath("-input", "file:///data/in.txt", "/w")).toBe("/data/in.txt");
    expect(localPath("-input", "file:/data/in.txt", "/w")).toBe("/data/in.txt");
  });

  it("treats names with a colon but no known scheme as relative paths", () => {
    expect(localPath("-input", "notes:v2.txt", "/w")).toBe("/w/notes:v2.txt");
  });

  it.each([["hdfs:///user/me/in"], ["hdfs:/user/me/in"], ["s3a://bucket/in"], ["https://x/y"]])(
    "refuses the remote URL %s",
    (raw) => {
      const error = (() => {
        try {
          localPath("-input", raw, "/w");
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toMatch(
        /^-input .*: tormr uses local paths, not \w+: URLs$/,
      );
    },
  );

  it("refuses a file URL with a host", () => {
    expect(() => localPath("-output", "file://host/x", "/w")).toThrow("not a local file URL");
  });
});

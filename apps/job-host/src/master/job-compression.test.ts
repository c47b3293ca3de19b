import { describe, expect, it } from "vitest";
import { pinCompression, storedCompression } from "./job-compression.ts";

const spec = (conf: Record<string, string>) => ({
  id: "job_1_0001",
  inputs: ["/in"],
  output: "/out",
  task: { kind: "streaming" as const, mapper: "cat" },
  numReduceTasks: 0,
  files: [],
  cmdenv: {},
  conf,
});

describe("a job's codec as stored", () => {
  it("is pinned at creation, the default written out, other settings kept", () => {
    expect(pinCompression(spec({ a: "b" })).conf).toEqual({
      a: "b",
      "tormr.compression": "brotli:6",
    });
    expect(pinCompression(spec({ "tormr.compression": "gzip" })).conf).toEqual({
      "tormr.compression": "gzip:6",
    });
    expect(pinCompression(spec({ "tormr.compression": "none" })).conf).toEqual({
      "tormr.compression": "none",
    });
  });

  it("reads back what was pinned, and none for a job stored before compression", () => {
    for (const given of ["none", "gzip:1", "brotli", "brotli:11"]) {
      const pinned = pinCompression(spec({ "tormr.compression": given }));
      expect(storedCompression(pinned)).toEqual(
        storedCompression(spec({ "tormr.compression": given })),
      );
    }
    expect(storedCompression(spec({}))).toEqual({ codec: "none", level: 0 });
  });
});

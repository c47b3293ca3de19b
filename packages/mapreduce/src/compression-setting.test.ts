import { describe, expect, it } from "vitest";
import { COMPRESSION_KEY, compressionSetting, DEFAULT_COMPRESSION } from "./compression-setting.ts";
import { jobSettings } from "./job-spec.ts";

const read = (value: string) => compressionSetting({ [COMPRESSION_KEY]: value });

describe("tormr.compression", () => {
  it("defaults to the measured choice, brotli at 6", () => {
    expect(compressionSetting({})).toEqual({ codec: "brotli", level: 6 });
    expect(jobSettings({ conf: {} }).compression).toBe(DEFAULT_COMPRESSION);
  });

  it("reads a codec alone (at its default level) or with a level", () => {
    expect(read("none")).toEqual({ codec: "none", level: 0 });
    expect(read("gzip")).toEqual({ codec: "gzip", level: 6 });
    expect(read("brotli")).toEqual({ codec: "brotli", level: 6 });
    expect(read("gzip:1")).toEqual({ codec: "gzip", level: 1 });
    expect(read(" Brotli:11 ")).toEqual({ codec: "brotli", level: 11 });
    expect(read("brotli:0")).toEqual({ codec: "brotli", level: 0 });
  });

  it("refuses anything else, naming the key, the value and what is allowed", () => {
    const allowed = "expected none, gzip, brotli, or gzip:<1-9>, brotli:<0-11>";
    for (const [value, why] of [
      ["zstd", "unknown codec"],
      ["", "unknown codec"],
      ["gzip:", "unknown codec"],
      ["gzip:-1", "unknown codec"],
      ["gzip:0", "gzip levels run from 1 to 9"],
      ["gzip:10", "gzip levels run from 1 to 9"],
      ["brotli:12", "brotli levels run from 0 to 11"],
      ["none:1", "none takes no level"],
      ["toString", "unknown codec"],
    ] as const) {
      expect(() => read(value)).toThrow(
        `-D tormr.compression=${value}: ${why}; ${allowed}, got '${value}'`,
      );
    }
    expect(() => jobSettings({ conf: { [COMPRESSION_KEY]: "lz4" } })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_CONF" }),
    );
  });
});

import { describe, expect, it } from "vitest";
import {
  DECOY_KEY,
  EXPOSURE_CAP_KEY,
  EXPOSURE_COLLUSION_KEY,
  jobSettings,
  parseJobSpec,
  REPLICATION_KEY,
  SHUFFLE_PADDING_KEY,
  SPOT_CHECK_KEY,
} from "./job-spec.ts";

const settings = (conf: Record<string, string>) => jobSettings({ conf });
const cap = (value: string) => settings({ [EXPOSURE_CAP_KEY]: value }).exposureCap;

describe("tormr.exposure.cap and tormr.exposure.collusion", () => {
  it("has no cap, and collusion 1, unless set", () => {
    expect(settings({})).toMatchObject({ exposureCap: null, exposureCollusion: 1 });
  });

  it("reads a fraction or a percentage, exactly as written", () => {
    for (const [value, expected] of [
      ["0.25", 0.25],
      [".1", 0.1],
      ["1", 1],
      ["1.0", 1],
      [" 0.333 ", 0.333],
      ["25%", 0.25],
      ["12.5%", 0.125],
      ["100%", 1],
      ["0.5%", 0.005],
      ["33.3%", 0.333],
      ["10%", 0.1],
    ] as const) {
      expect(cap(value)).toBe(expected);
      expect(String(cap(value))).toBe(String(expected));
    }
  });

  it("refuses a cap that is not above 0 and at most 1, naming the key, the value and what is allowed", () => {
    for (const value of [
      "0",
      "0%",
      "0.0",
      "1.5",
      "101%",
      "-0.1",
      "25 %",
      "1e-2",
      "",
      "%",
      "half",
      ".5%",
    ]) {
      expect(() => cap(value)).toThrow(
        `-D tormr.exposure.cap=${value}: expected a share of the input records above 0 and at most 1, as a fraction (0.25) or a percentage (25%), got '${value}'`,
      );
    }
    expect(() => cap("2")).toThrow(expect.objectContaining({ code: "ERR_BAD_CONF" }));
  });

  it("reads collusion k beside a cap, and refuses it as a positive whole number or without a cap", () => {
    expect(settings({ [EXPOSURE_CAP_KEY]: "25%", [EXPOSURE_COLLUSION_KEY]: "2" })).toMatchObject({
      exposureCap: 0.25,
      exposureCollusion: 2,
    });
    for (const value of ["0", "-1", "1.5", "two", ""]) {
      expect(() =>
        settings({ [EXPOSURE_CAP_KEY]: "25%", [EXPOSURE_COLLUSION_KEY]: value }),
      ).toThrow(
        `-D tormr.exposure.collusion=${value}: expected a positive whole number, got '${value}'`,
      );
    }
    expect(() => settings({ [EXPOSURE_COLLUSION_KEY]: "2" })).toThrow(
      "-D tormr.exposure.collusion=2: set -D tormr.exposure.cap too; collusion bounds what 2 workers see together under the cap",
    );
  });

  it("is checked when a spec is parsed", () => {
    const spec = {
      id: "job_202611250000_0001",
      inputs: ["/in"],
      output: "/out",
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 1,
    };
    expect(() => parseJobSpec({ ...spec, conf: { [EXPOSURE_CAP_KEY]: "0%" } })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_CONF" }),
    );
    expect(parseJobSpec({ ...spec, conf: { [EXPOSURE_CAP_KEY]: "10%" } }).conf).toEqual({
      [EXPOSURE_CAP_KEY]: "10%",
    });
  });
});

describe("tormr.shuffle.padding", () => {
  const padding = (value: string) => settings({ [SHUFFLE_PADDING_KEY]: value }).shufflePadding;

  it("is off unless set", () => {
    expect(settings({}).shufflePadding).toBe(false);
  });

  it("reads true or false as Hadoop's getBoolean does: trimmed, in any case", () => {
    for (const value of ["true", "TRUE", "True", " true "]) expect(padding(value)).toBe(true);
    for (const value of ["false", "FALSE", " false"]) expect(padding(value)).toBe(false);
  });

  it("refuses anything else, naming the key, the value and what is allowed", () => {
    for (const value of ["1", "0", "yes", "on", "", "truee", "t"]) {
      expect(() => padding(value)).toThrow(
        `-D tormr.shuffle.padding=${value}: expected true or false, got '${value}'`,
      );
    }
    expect(() => padding("yes")).toThrow(expect.objectContaining({ code: "ERR_BAD_CONF" }));
  });

  it("is checked when a spec is parsed", () => {
    const spec = {
      id: "job_202611250000_0001",
      inputs: ["/in"],
      output: "/out",
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 2,
    };
    expect(() => parseJobSpec({ ...spec, conf: { [SHUFFLE_PADDING_KEY]: "yes" } })).toThrow(
      expect.objectContaining({ code: "ERR_BAD_CONF" }),
    );
  });
});

describe("tormr.replication", () => {
  const replicas = (value: string) => settings({ [REPLICATION_KEY]: value }).replication;

  it("is 1 (no replicas) unless set", () => {
    expect(settings({}).replication).toBe(1);
  });

  it("reads a whole number from 1 to 5, trimmed", () => {
    expect(replicas("1")).toBe(1);
    expect(replicas(" 2 ")).toBe(2);
    expect(replicas("5")).toBe(5);
  });

  it("refuses anything else, naming the key, the value and what is allowed", () => {
    for (const value of ["0", "6", "-1", "2.5", "two", "", "1e1"]) {
      expect(() => replicas(value)).toThrow(
        `-D tormr.replication=${value}: expected a whole number of replicas from 1 to 5, got '${value}'`,
      );
    }
    expect(() => replicas("9")).toThrow(expect.objectContaining({ code: "ERR_BAD_CONF" }));
  });
});

describe("tormr.spotcheck.rate and tormr.decoy.rate", () => {
  it("are 0 (no checks, no decoys) unless set", () => {
    expect(settings({})).toMatchObject({ spotCheckRate: 0, decoyRate: 0 });
  });

  it("read a fraction or a percentage from 0 to 1", () => {
    expect(settings({ [SPOT_CHECK_KEY]: "0.25" }).spotCheckRate).toBe(0.25);
    expect(settings({ [SPOT_CHECK_KEY]: "100%" }).spotCheckRate).toBe(1);
    expect(settings({ [DECOY_KEY]: " 10% " }).decoyRate).toBe(0.1);
    expect(settings({ [DECOY_KEY]: "0" }).decoyRate).toBe(0);
  });

  it("refuse anything else, naming the key, the value and what is allowed", () => {
    for (const value of ["1.5", "-0.1", "many", "", "150%"]) {
      expect(() => settings({ [SPOT_CHECK_KEY]: value })).toThrow(
        `-D tormr.spotcheck.rate=${value}: expected the share of tasks the job host runs again itself from 0 to 1, as a fraction (0.2) or a percentage (20%), got '${value}'`,
      );
      expect(() => settings({ [DECOY_KEY]: value })).toThrow(
        expect.objectContaining({
          code: "ERR_BAD_CONF",
          message: expect.stringContaining(`-D tormr.decoy.rate=${value}`),
        }),
      );
    }
  });
});

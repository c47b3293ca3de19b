import { join, relative, resolve, sep } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  checkBucketId,
  isValidBucketId,
  isValidBucketIdPrefix,
  MAX_BUCKET_ID_LENGTH,
  mapOnlyOutputId,
  mapOutputId,
  mapOutputPrefix,
  parseMapOutputId,
  reduceOutputId,
  reduceOutputPrefix,
  splitBucketId,
} from "./bucket-id.ts";
import { CryptoError } from "./errors.ts";

const JOB = "job_20261125101010_0001";

function refusal(id: unknown): CryptoError {
  try {
    checkBucketId(id);
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error(`expected ${JSON.stringify(id)} to be refused`);
}

describe("bucket ids", () => {
  it("accept the engine's layout", () => {
    for (const id of [
      `j/${JOB}/split/0/0`,
      `j/${JOB}/m/3/0/p7`,
      `j/${JOB}/m/3/1/out`,
      `j/${JOB}/r/0/2/out`,
      "a",
      "a.b/-c_/..d/e..",
    ]) {
      expect(isValidBucketId(id), id).toBe(true);
      expect(checkBucketId(id)).toBe(id);
    }
  });

  it.each([
    ["..", "'..' segment"],
    [".", "'.' segment"],
    ["j/x/../y", "'..' segment"],
    ["j/./y", "'.' segment"],
    ["a//b", "empty segment"],
    ["/a", "starts with '/'"],
    ["a/", "ends with '/'"],
    ["", "empty"],
    ["a".repeat(MAX_BUCKET_ID_LENGTH + 1), "201 characters long, the limit is 200"],
    ["j/caf\u00e9", "outside [A-Za-z0-9._-]"],
    ["j/%2e%2e/x", "outside [A-Za-z0-9._-]"],
    ["j\\..\\x", "outside [A-Za-z0-9._-]"],
    ["j/a\u0000b", "outside [A-Za-z0-9._-]"],
    ["j/a b", "outside [A-Za-z0-9._-]"],
    ["j/a:b", "outside [A-Za-z0-9._-]"],
  ])("refuse %j (%s)", (id, rule) => {
    expect(isValidBucketId(id)).toBe(false);
    const error = refusal(id);
    expect(error.code).toBe("ERR_CRYPTO_ARGUMENT");
    expect(error.message).toContain(rule);
    if (id !== "") expect(error.message).toContain(JSON.stringify(id.slice(0, 80)).slice(0, -1));
  });

  it("refuse non-strings and name the type", () => {
    expect(isValidBucketId(42)).toBe(false);
    expect(refusal(42).message).toBe("invalid bucket id: expected a string, got number");
  });

  it("quote control characters in the message instead of printing them", () => {
    expect(refusal("a\nb").message).toBe(
      `invalid bucket id "a\\nb": a segment has a character outside [A-Za-z0-9._-]`,
    );
  });

  it("accept 200 characters exactly", () => {
    expect(isValidBucketId("a".repeat(MAX_BUCKET_ID_LENGTH))).toBe(true);
  });

  it("take prefixes only as an id followed by '/'", () => {
    expect(isValidBucketIdPrefix(`j/${JOB}/m/3/0/`)).toBe(true);
    expect(isValidBucketIdPrefix(`j/${JOB}/m/3/0`)).toBe(false);
    expect(isValidBucketIdPrefix("/")).toBe(false);
    expect(isValidBucketIdPrefix("j/../")).toBe(false);
    expect(isValidBucketIdPrefix("j//")).toBe(false);
  });
});

describe("bucket id builders", () => {
  it("spell the engine's layout", () => {
    expect(splitBucketId(JOB, 4, 2)).toBe(`j/${JOB}/split/4/2`);
    expect(mapOutputPrefix(JOB, 3, 0)).toBe(`j/${JOB}/m/3/0/`);
    expect(mapOutputId(JOB, 3, 0, 7)).toBe(`j/${JOB}/m/3/0/p7`);
    expect(mapOnlyOutputId(JOB, 3, 1)).toBe(`j/${JOB}/m/3/1/out`);
    expect(reduceOutputPrefix(JOB, 0, 2)).toBe(`j/${JOB}/r/0/2/`);
    expect(reduceOutputId(JOB, 0, 2)).toBe(`j/${JOB}/r/0/2/out`);
  });

  it("refuse bad job ids and indexes", () => {
    expect(() => mapOutputId("../x", 0, 0, 0)).toThrow(
      'invalid job id "../x": expected [A-Za-z0-9_-]+',
    );
    expect(() => mapOutputId("a/b", 0, 0, 0)).toThrow(CryptoError);
    expect(() => mapOutputId(JOB, -1, 0, 0)).toThrow(
      "map: expected a non-negative integer, got -1",
    );
    expect(() => mapOutputPrefix(JOB, 0, 1.5)).toThrow("attempt: expected a non-negative integer");
    expect(() => reduceOutputPrefix(JOB, Number.NaN, 0)).toThrow("partition: expected");
    expect(() => splitBucketId(JOB, 0, 2 ** 53)).toThrow("segment: expected");
    expect(() => mapOutputId("x".repeat(200), 0, 0, 0)).toThrow("the limit is 200");
  });

  it("round-trip map output ids through parseMapOutputId", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/),
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (job, map, attempt, partition) => {
          const id = mapOutputId(job, map, attempt, partition);
          expect(parseMapOutputId(id)).toEqual({ job, map, attempt, partition });
        },
      ),
    );
  });

  it("parse only partitioned map outputs in canonical spelling", () => {
    for (const id of [
      `j/${JOB}/m/3/0/out`,
      `j/${JOB}/r/3/0/out`,
      `j/${JOB}/split/3/0`,
      `j/${JOB}/m/03/0/p1`,
      `j/${JOB}/m/3/01/p1`,
      `j/${JOB}/m/3/0/p01`,
      `j/${JOB}/m/3/0/p-1`,
      `j/${JOB}/m/3/0/p1/x`,
      `j/${JOB}/m/3/0/p99999999999999999999`,
      `j/a.b/m/3/0/p1`,
      `j/../m/3/0/p1`,
      `x/j/${JOB}/m/3/0/p1`,
    ]) {
      expect(parseMapOutputId(id), id).toBeUndefined();
    }
  });
});

describe("bucket ids as paths", () => {
  const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
  const anyId = fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 20 }).map((parts) => parts.join("/")),
    fc.string({ maxLength: 40 }),
    fc
      .array(fc.constantFrom("..", ".", "", "a", "%2e", "\\", "\0", "/"), { maxLength: 8 })
      .map((parts) => parts.join("/")),
  );

  it("stay inside the base folder when joined under it", () => {
    const base = resolve("/srv/tormr/buckets");
    fc.assert(
      fc.property(anyId, (id) => {
        if (!isValidBucketId(id)) return;
        const path = resolve(join(base, id));
        const rel = relative(base, path);
        expect(rel).not.toBe("");
        expect(rel.split(sep)).not.toContain("..");
        expect(path.startsWith(base + sep)).toBe(true);
        expect(rel.split(sep).join("/")).toBe(id);
      }),
      { numRuns: 2000 },
    );
  });
});

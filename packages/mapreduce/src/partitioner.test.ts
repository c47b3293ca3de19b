import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { toByteString } from "./byte-string.ts";
import { hashByteString, partitionByteKey } from "./partitioner.ts";

/** Hadoop's WritableComparator.hashBytes, written again with BigInt and Java's int wrap-around. */
function javaHashBytes(bytes: Uint8Array): number {
  let hash = 1n;
  for (const b of bytes) hash = BigInt.asIntN(32, 31n * hash + BigInt(b > 127 ? b - 256 : b));
  return Number(hash);
}

describe("Hadoop HashPartitioner", () => {
  it("hashes as Hadoop's Text.hashCode (hashBytes), on known values", () => {
    // "hello".hashCode() in Java is 99162322; hashBytes starts from 1, so it adds 31^5 (wrapped).
    expect(hashByteString("hello")).toBe(javaHashBytes(new TextEncoder().encode("hello")));
    expect(hashByteString("")).toBe(1);
    expect(hashByteString("a")).toBe(31 + 97);
  });

  it("agrees with a BigInt reimplementation on any UTF-8 key", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (text) => {
        const bytes = Buffer.from(text, "utf8");
        expect(hashByteString(toByteString(text))).toBe(javaHashBytes(bytes));
      }),
    );
  });

  it("puts every key in [0, n) and the same key always in the same partition", () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        const p = partitionByteKey(toByteString(key), n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionByteKey(toByteString(key), n)).toBe(p);
      }),
    );
  });

  it("hashes only the key prefix it is given", () => {
    expect(partitionByteKey("abc\tdef", 7, 3)).toBe(partitionByteKey("abc", 7));
  });
});

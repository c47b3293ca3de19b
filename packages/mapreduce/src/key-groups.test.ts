import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { KeyGroups } from "./key-groups.ts";
import type { MergedBatch } from "./merge.ts";

async function* batches(lines: string[], sizes: number[]): AsyncGenerator<MergedBatch> {
  let at = 0;
  for (let i = 0; at < lines.length; i++) {
    const size = sizes.length > 0 ? (sizes[i % sizes.length] as number) : lines.length;
    const part = lines.slice(at, at + size);
    at += size;
    yield { lines: part, keys: part.map((l) => l.split("\t")[0] as string) };
  }
}

describe("key groups", () => {
  it("hand out each key once with exactly its values, across batches, however many are read", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom("a", "b", "c", "d"), fc.nat(99)), { maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 5 }),
        fc.array(fc.nat(5), { minLength: 1, maxLength: 5 }),
        async (records, sizes, reads) => {
          const lines = records.map(([k, v]) => `${k}\t${v}`).sort();
          const groups = new KeyGroups(batches(lines, sizes));
          const got: [string, string[]][] = [];
          let n = 0;
          for (let key = await groups.nextKey(); key !== undefined; key = await groups.nextKey()) {
            // Read only some of the values of some keys: the rest must be skipped, not leak.
            const limit = reads[n++ % reads.length] as number;
            const values: string[] = [];
            for await (const v of groups.values((line) => line.split("\t")[1] as string)) {
              if (values.length >= limit + 1) break;
              values.push(v);
            }
            got.push([key, values]);
          }
          const expected = new Map<string, string[]>();
          for (const line of lines) {
            const [k, v] = line.split("\t") as [string, string];
            expected.set(k, [...(expected.get(k) ?? []), v]);
          }
          expect(got.map(([k]) => k)).toEqual([...expected.keys()]);
          got.forEach(([k, values], i) => {
            const all = expected.get(k) ?? [];
            expect(values).toEqual(all.slice(0, (reads[i % reads.length] as number) + 1));
          });
          expect(groups.groups).toBe(expected.size);
          expect(groups.records).toBe(lines.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { MapOutputCollector } from "./collector.ts";
import { Counters, TASK_GROUP } from "./counters.ts";
import { keyLength } from "./key-spec.ts";
import { mergeRuns } from "./merge.ts";
import { readRunLines } from "./run-reader.ts";
import { RunWriter } from "./run-writer.ts";

const dir = mkdtempSync(join(tmpdir(), "tormr-merge-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const spec = { separator: "\t", fields: 1 };
let n = 0;

/** The order the engine promises: keys in byte order, then whole lines in byte order. */
const byKeyThenLine = (a: string, b: string) => {
  const ka = a.slice(0, keyLength(a, spec));
  const kb = b.slice(0, keyLength(b, spec));
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
};

// Byte strings, including bytes below TAB, which `sort` on whole lines would interleave.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are the point of this generator.
const line = fc.stringMatching(/^[\x00-\x08a-c\xff]{0,3}(\t[a-c\x01]{0,2})?$/);

describe("sort, spill and merge", () => {
  it("k-way merge of sorted runs equals one sort", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(line, { maxLength: 40 }), { minLength: 1, maxLength: 6 }),
        async (runs) => {
          const segments = [];
          for (const run of runs) {
            const writer = await RunWriter.create(join(dir, `run-${n++}`));
            await writer.writeAll([...run].sort(byKeyThenLine));
            await writer.close();
            segments.push({ path: writer.path, offset: 0, length: writer.bytes });
          }
          const merged: string[] = [];
          const keys: string[] = [];
          for await (const batch of mergeRuns(segments, spec)) {
            merged.push(...batch.lines);
            keys.push(...batch.keys);
          }
          expect(merged).toEqual(runs.flat().sort(byKeyThenLine));
          expect(keys).toEqual(merged.map((l) => l.slice(0, keyLength(l, spec))));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("the collector gives the same partitions whether or not it spills", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 300 }),
        fc.integer({ min: 1, max: 4 }),
        async (lines, partitions) => {
          const outputs: string[][][] = [];
          for (const budget of [1 << 30, 200]) {
            const counters = new Counters();
            const scratch = join(dir, `c${n++}`);
            const { mkdir } = await import("node:fs/promises");
            await mkdir(scratch);
            const collector = new MapOutputCollector({
              partitions,
              keySpec: spec,
              budgetBytes: budget,
              scratchDir: scratch,
              counters,
            });
            for (const l of lines) {
              collector.add(l);
              await collector.maybeSpill();
            }
            const files = await collector.finish((p) => join(scratch, `out-${p}`));
            const parts: string[][] = [];
            for (const f of files) {
              const got: string[] = [];
              for await (const batch of readRunLines({ path: f.path, offset: 0, length: f.bytes }))
                got.push(...batch);
              parts.push(got);
            }
            outputs.push(parts);
            if (budget === 200 && lines.length > 20)
              expect(counters.get(TASK_GROUP, "SPILLED_RUNS")).toBeGreaterThan(0);
          }
          expect(outputs[1]).toEqual(outputs[0]);
          expect(outputs[0]?.flat().sort(byKeyThenLine)).toEqual([...lines].sort(byKeyThenLine));
          for (const part of outputs[0] ?? []) expect(part).toEqual([...part].sort(byKeyThenLine));
        },
      ),
      { numRuns: 60 },
    );
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { MapReduceError } from "./errors.ts";
import { readSegment } from "./input-reader.ts";
import { planSplits } from "./splits.ts";

const dir = mkdtempSync(join(tmpdir(), "tormr-splits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

async function readAll(inputs: string[], splitSize: number): Promise<string[]> {
  const lines: string[] = [];
  for (const split of await planSplits(inputs, splitSize)) {
    for (const segment of split.segments) {
      const chunks: Buffer[] = [];
      for await (const chunk of readSegment(segment)) chunks.push(chunk);
      const text = Buffer.concat(chunks).toString("latin1");
      expect(text === "" || text.endsWith("\n")).toBe(true);
      lines.push(...text.split("\n").slice(0, -1));
    }
  }
  return lines;
}

const expectedLines = (text: string) => (text === "" ? [] : text.replace(/\n$/, "").split("\n"));

describe("input splits", () => {
  it("never cut, lose or repeat a line, whatever the split size", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.stringMatching(/^[a-z\r ]{0,30}$/), { maxLength: 60 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 200 }),
        async (lines, finalNewline, splitSize) => {
          const text = lines.join("\n") + (finalNewline && lines.length > 0 ? "\n" : "");
          const file = join(dir, `p${n++}.txt`);
          writeFileSync(file, text);
          expect(await readAll([file], splitSize)).toEqual(expectedLines(text));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("cut large files into pieces and pack small files together", async () => {
    const folder = join(dir, "mixed");
    mkdirSync(folder);
    writeFileSync(join(folder, "big.txt"), "0123456789\n".repeat(100));
    for (let i = 0; i < 10; i++) writeFileSync(join(folder, `small-${i}.txt`), "x\n".repeat(10));
    writeFileSync(join(folder, "_SUCCESS"), "not input");
    writeFileSync(join(folder, ".hidden"), "not input");
    writeFileSync(join(folder, "empty.txt"), "");
    const splits = await planSplits([folder], 300);
    const big = splits.filter((s) => s.segments[0]?.path.endsWith("big.txt"));
    expect(big.map((s) => s.bytes)).toEqual([300, 300, 300, 200]);
    const small = splits.filter((s) => s.segments[0]?.path.includes("small-"));
    expect(small).toHaveLength(1);
    expect(small[0]?.segments).toHaveLength(10);
    expect(splits.map((s) => s.index)).toEqual(splits.map((_, i) => i));
  });

  it("a missing input is an error that names it", async () => {
    const missing = join(dir, "nope");
    await expect(planSplits([missing], 100)).rejects.toThrow(
      new MapReduceError("ERR_INPUT_MISSING", `input path does not exist: ${missing}`),
    );
  });
});

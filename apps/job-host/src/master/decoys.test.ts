import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planSplits } from "@tormr/mapreduce/splits";
import { afterAll, describe, expect, it } from "vitest";
import { drawIndexes, plantDecoys, secretDraw, shareCount, shownSegments } from "./decoys.ts";

const dir = mkdtempSync(join(tmpdir(), "tormr-decoys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the secret draw", () => {
  it("is uniform-looking in [0, 1), fresh per job unless pinned", () => {
    const a = secretDraw(undefined, "job_1");
    const b = secretDraw(undefined, "job_1");
    const xs = Array.from({ length: 2000 }, a);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(Math.abs(xs.reduce((n, x) => n + x, 0) / xs.length - 0.5)).toBeLessThan(0.05);
    expect(b()).not.toBe(xs[0]);
    const pinned = secretDraw("seed", "job_1");
    expect(Array.from({ length: 5 }, pinned)).toEqual(
      Array.from({ length: 5 }, secretDraw("seed", "job_1")),
    );
  });

  it("draws distinct indexes without replacement, and rounds a share up", () => {
    const chosen = drawIndexes(10, 4, secretDraw("s", "j"));
    expect(chosen.size).toBe(4);
    expect([...chosen].every((i) => i >= 0 && i < 10)).toBe(true);
    expect(drawIndexes(3, 9, secretDraw("s", "j")).size).toBe(3);
    expect([shareCount(20, 0.3), shareCount(8, 0.2), shareCount(16, 0.2)]).toEqual([6, 2, 4]);
    expect([shareCount(5, 0), shareCount(5, 0.01), shareCount(5, 1)]).toEqual([0, 1, 5]);
  });
});

describe("plantDecoys", () => {
  const lines = Array.from({ length: 3000 }, (_, i) => `record ${i} ${"x".repeat(i % 17)}`);
  const input = join(dir, "input.txt");
  writeFileSync(input, `${lines.join("\n")}\n`);

  it("hides decoys among the real splits, each shown as a real split's file range, of sampled input records", async () => {
    const real = await planSplits([input], 8_000);
    const planted = await plantDecoys(real, 3, join(dir, "d1"), secretDraw("p", "j1"));
    expect(planted).toHaveLength(real.length + 3);
    expect(planted.map((s) => s.index)).toEqual(planted.map((_, i) => i));
    // The real splits keep their order and their ranges.
    const kept = planted.filter((s) => s.decoyOf === undefined);
    expect(kept.map((s) => s.segments)).toEqual(real.map((s) => s.segments));
    const all = new Set(lines);
    for (const decoy of planted.filter((s) => s.decoyOf !== undefined)) {
      const template = planted[decoy.decoyOf as number];
      expect(template?.decoyOf).toBeUndefined();
      // Shown to its worker as the template's file and offset, never its own path.
      expect(shownSegments(decoy).map((s) => [s.name, s.start])).toEqual(
        shownSegments(template as never).map((s) => [s.name, s.start]),
      );
      const text = readFileSync(decoy.segments[0]?.path as string, "utf8");
      const records = text.split("\n").slice(0, -1);
      expect(records.length).toBeGreaterThan(0);
      expect(records.every((r) => all.has(r))).toBe(true);
      // About as long as the split it imitates (each line kept with that chance).
      const size = Buffer.byteLength(text);
      expect(size).toBeGreaterThan(8_000 * 0.5);
      expect(size).toBeLessThan(8_000 * 1.6);
    }
  });

  it("puts the decoys at other places for another job, and plants none at rate 0", async () => {
    const real = await planSplits([input], 8_000);
    const where = async (seed: string) =>
      (await plantDecoys(real, 2, join(dir, seed), secretDraw(seed, "j")))
        .filter((s) => s.decoyOf !== undefined)
        .map((s) => s.index);
    const places = new Set<string>();
    for (const seed of ["a", "b", "c", "d", "e", "f"]) places.add((await where(seed)).join(","));
    expect(places.size).toBeGreaterThan(1);
    expect(await plantDecoys(real, 0, join(dir, "none"), secretDraw("z", "j"))).toEqual(real);
  });

  it("gives a decoy one record even when sampling kept none", async () => {
    const real = await planSplits([input], 8_000);
    const planted = await plantDecoys(real, 1, join(dir, "unlucky"), () => 0.99);
    const decoy = planted.find((s) => s.decoyOf !== undefined);
    expect(readFileSync(decoy?.segments[0]?.path as string, "utf8")).toBe(`${lines[0]}\n`);
  });
});

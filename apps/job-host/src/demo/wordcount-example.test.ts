// The example word counts (Python streaming scripts and JS module) must count the same words.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";

const EXAMPLE = fileURLToPath(new URL("../../../../examples/wordcount/", import.meta.url));

type Emit = (key: string, value: string | number) => void;
interface WordCountModule {
  map(line: string, emit: Emit): void;
  combine(key: string, values: AsyncIterable<string>, emit: Emit): Promise<void>;
  reduce(key: string, values: AsyncIterable<string>, emit: Emit): Promise<void>;
}

const TRICKY = Buffer.concat([
  Buffer.from("Hello, World! hello\tWORLD\r\n\n  don't stop-me_now 3d 42 x\n"),
  Buffer.from([0x62, 0x61, 0xff, 0xfe, 0x64, 0x0a]), // invalid UTF-8 between letters
  Buffer.from("caf\u00e9 na\u00efve \u212aelvin \u0130stanbul \u03a3\u03a3 stra\u00dfe\n", "utf8"),
  Buffer.from("no newline at the end"),
]);

function pythonCounts(input: Buffer): Map<string, number> {
  const run = spawnSync("sh", ["-c", "./mapper.py | LC_ALL=C sort | ./reducer.py"], {
    cwd: EXAMPLE,
    input,
    encoding: "utf8",
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
  const counts = new Map<string, number>();
  for (const line of run.stdout.split("\n").filter(Boolean)) {
    const [word = "", count = ""] = line.split("\t");
    counts.set(word, Number(count));
  }
  return counts;
}

async function* strings(values: string[]): AsyncGenerator<string> {
  yield* values;
}

/** Runs the JS job's map and reduce the way the engine does: lines in, string values grouped by key. */
async function jsCounts(job: WordCountModule, input: Buffer): Promise<Map<string, number>> {
  const groups = new Map<string, string[]>();
  for (const line of new TextDecoder().decode(input).split("\n")) {
    job.map(line, (key, value) => {
      groups.set(key, [...(groups.get(key) ?? []), String(value)]);
    });
  }
  const counts = new Map<string, number>();
  for (const [key, values] of groups) {
    await job.reduce(key, strings(values), (word, total) => counts.set(word, Number(total)));
  }
  return counts;
}

async function loadJob(): Promise<WordCountModule> {
  const url = new URL("../../../../examples/wordcount/wordcount.mjs", import.meta.url).href;
  return (await import(url)) as WordCountModule;
}

describe("examples/wordcount", () => {
  it("counts the same words in Python and in JS, whatever the bytes", async () => {
    const job = await loadJob();
    // biome-ignore format: one pair per line would hide the point
    const expected = new Map([
      ["hello", 2], ["world", 2], ["don", 1], ["t", 1], ["stop", 1], ["me", 1], ["now", 1],
      ["d", 2], ["x", 1], ["ba", 1], ["caf", 1], ["na", 1], ["ve", 1], ["elvin", 1],
      ["stanbul", 1], ["stra", 1], ["e", 1], ["no", 1], ["newline", 1], ["at", 1], ["the", 1],
      ["end", 1],
    ]);
    expect(pythonCounts(TRICKY)).toEqual(expected);
    expect(await jsCounts(job, TRICKY)).toEqual(expected);

    // Arbitrary bytes, biased towards letters, newlines and UTF-8 lead bytes.
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(0x0a, 0x41, 0x5a, 0x61, 0x7a, 0x20, 0xc3, 0xe2, 0x84, 0xaa),
    );
    const samples = fc.sample(fc.array(byte, { maxLength: 200 }), { numRuns: 300, seed: 42 });
    const input = Buffer.from(samples.flat());
    expect(await jsCounts(job, input)).toEqual(pythonCounts(input));
  });

  it("combines with the reducer's sum, and the reducer skips a bad count", async () => {
    const job = await loadJob();
    const emitted: [string, string | number][] = [];
    await job.combine("a", strings(["1", "2", "39"]), (k, v) => emitted.push([k, v]));
    expect(emitted).toEqual([["a", 42]]);

    const run = spawnSync("./reducer.py", [], {
      cwd: EXAMPLE,
      input: "a\t1\na\t2\nb\tmany\nb\t1\nc\n",
      encoding: "utf8",
    });
    expect(run.stdout).toBe("a\t3\nb\t1\nc\t1\n");
    expect(run.stderr).toBe("reporter:counter:WordCount,BAD_COUNTS,1\n");
  });
});

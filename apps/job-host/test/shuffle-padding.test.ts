// Shuffle-size padding (#8) with a real job host and real workers: a skewed word count's partition buckets are one size per map attempt with tormr.shuffle.padding, unequal without, and the output is the same to the byte.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { mapOutputId } from "@tormr/crypto/bucket-id";
import type { CounterRecord } from "@tormr/mapreduce/counters";
import type { JobSpecInput } from "@tormr/mapreduce/job-spec";
import { PADDING_FLOOR } from "@tormr/protocol/bucket-padding";
import { SHUFFLE_PADDING_BYTES, TORMR_GROUP } from "@tormr/task-runner/sealed-output";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import { fixture, jobSpec, makeText, prng, readParts, run, wordCountOracle } from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

const REDUCES = 4;
const FAST = { heartbeatMs: 200, timeoutMs: 5_000, pollMs: 300 };
// One split per file: three maps, each with a map output above the 64 KiB floor.
const SPLITS = { "mapreduce.input.fileinputformat.split.maxsize": "200000" };

let dir: string;
let input: string;
let host: JobHost;
let oracle: string[];

/**
 * Text whose words are about half "the": its partition dwarfs the other three, so unpadded
 * partition sizes show the skew.
 */
function skewedText(bytes: number, seed: number): string {
  const random = prng(seed);
  const lines = makeText(bytes, seed)
    .split("\n")
    .map((line) => `${line} ${"the ".repeat(Math.floor(random() * 10))}`.trim());
  return `${lines.join("\n")}\n`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tormr-padding-"));
  input = join(dir, "input");
  mkdirSync(input);
  for (let i = 0; i < 3; i++)
    writeFileSync(join(input, `file-${i}.txt`), skewedText(90_000, 41 + i));
  oracle = wordCountOracle(input);
  host = await startJobHost({ stateDir: join(dir, "host"), settings: FAST });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(dir, { recursive: true, force: true });
});

let outputs = 0;
const wordCount = (conf: Record<string, string>): Omit<JobSpecInput, "id"> => ({
  inputs: [input],
  output: join(dir, `out-${++outputs}`),
  task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
  files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
  numReduceTasks: REDUCES,
  conf: { ...SPLITS, ...conf },
});

/**
 * Records the stored size of every map-output bucket of `job` while it runs: the job host deletes
 * its intermediate buckets (rows and files) when the job ends.
 */
function watchMapOutputs(job: string) {
  const sizes = new Map<string, number>();
  let watching = true;
  const loop = (async () => {
    while (watching) {
      const rows = await host.db.bucket.findMany({
        where: { job, id: { startsWith: `j/${job}/m/` } },
        select: { id: true, size: true },
      });
      for (const row of rows) sizes.set(row.id, Number(row.size));
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await loop;
      return sizes;
    },
  };
}

interface PaddingRun {
  output: string;
  /** The stored (sealed) size of each partition of each map's committed attempt, by map index. */
  sizes: number[][];
  /** Each map's committed counters, by map index. */
  counters: CounterRecord[];
}

/** Runs a skewed word count on this host with two joined workers; checks it gives the oracle's output. */
async function runWordCount(conf: Record<string, string>): Promise<PaddingRun> {
  const spec = jobSpec(wordCount(conf));
  await host.master.createJob(spec);
  const watch = watchMapOutputs(spec.id);
  await joinWorkers(host, spec.id, 2, dir);
  const seen = await watch.stop();
  const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
  expect(job.error).toBeNull();
  expect(job.state).toBe("succeeded");
  expect(readParts(spec.output)).toEqual(oracle);
  await host.store.settled();
  // What the store served of each map-output bucket: reduces read them whole, so their size again.
  const served = await host.db.exposure.groupBy({
    by: ["bucket"],
    where: { job: spec.id, bucket: { startsWith: `j/${spec.id}/m/` } },
    _max: { bytes: true },
  });
  const maps = await host.db.task.findMany({
    where: { job: spec.id, kind: "map" },
    orderBy: { index: "asc" },
    select: { index: true, committedAttempt: true, counters: true },
  });
  expect(maps).toHaveLength(3);
  const sizes = maps.map(({ index, committedAttempt }) =>
    Array.from({ length: REDUCES }, (_, r) => {
      const id = mapOutputId(spec.id, index, committedAttempt as number, r);
      const size = seen.get(id);
      expect(size, `the size of ${id}`).toBeDefined();
      const ledger = served.find((row) => row.bucket === id);
      expect(Number(ledger?._max.bytes)).toBe(size);
      return size as number;
    }),
  );
  const counters = maps.map((m) => JSON.parse(m.counters ?? "{}") as CounterRecord);
  return { output: spec.output, sizes, counters };
}

/** The part files of two outputs are the same files, byte for byte. */
function expectSameParts(a: string, b: string): void {
  const parts = readdirSync(a).filter((f) => f.startsWith("part-"));
  expect(parts).toHaveLength(REDUCES);
  expect(readdirSync(b).filter((f) => f.startsWith("part-"))).toEqual(parts);
  for (const part of parts)
    expect(readFileSync(join(b, part)).equals(readFileSync(join(a, part)))).toBe(true);
}

describe("a skewed word count over 4 reducers, uncompressed", () => {
  let plain: PaddingRun;
  let padded: PaddingRun;

  it("without padding: each map's partition buckets differ in size, the hot one by far", async () => {
    plain = await runWordCount({ "tormr.compression": "none" });
    for (const sizes of plain.sizes) {
      expect(new Set(sizes).size).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeGreaterThan(2 * Math.min(...sizes));
      expect(Math.max(...sizes)).toBeGreaterThan(PADDING_FLOOR);
    }
    for (const counters of plain.counters) expect(counters[TORMR_GROUP]).toBeUndefined();
  });

  it("with tormr.shuffle.padding=true: one size per map attempt, the largest one's class; the same output to the byte", async () => {
    padded = await runWordCount({ "tormr.compression": "none", "tormr.shuffle.padding": "true" });
    for (const [m, sizes] of padded.sizes.entries()) {
      const largest = Math.max(...(plain.sizes[m] as number[]));
      expect(new Set(sizes).size).toBe(1);
      expect(sizes[0]).toBeGreaterThan(largest);
      // Padmé costs at most 1/32 above the floor; the frame adds 16 bytes (and a tag), a nudge a few more.
      expect(sizes[0]).toBeLessThanOrEqual(Math.ceil((largest + 32) * (1 + 1 / 32)) + 64);
      // The counter is the stored bytes padding added: padded less unpadded, partition by partition.
      const added =
        (sizes[0] as number) * REDUCES - (plain.sizes[m] as number[]).reduce((a, b) => a + b);
      expect(padded.counters[m]?.[TORMR_GROUP]?.[SHUFFLE_PADDING_BYTES]).toBe(added);
    }
    expectSameParts(plain.output, padded.output);
  });
});

describe("compressed (brotli:6, the default), with padding", () => {
  it("the small compressed partitions all take the 64 KiB floor; the output matches the unpadded job's", async () => {
    const plain = await runWordCount({});
    const padded = await runWordCount({ "tormr.shuffle.padding": "true" });
    for (const sizes of plain.sizes) expect(new Set(sizes).size).toBeGreaterThan(1);
    for (const sizes of padded.sizes) expect(sizes).toEqual(Array(REDUCES).fill(PADDING_FLOOR));
    expectSameParts(plain.output, padded.output);
  });
});

describe("--local, sealed, with padding", () => {
  it("gives the oracle's word count and counts the padding", async () => {
    const result = await run(wordCount({ "tormr.shuffle.padding": "true" }));
    expect(readParts(result.output)).toEqual(oracle);
    expect(result.counters[TORMR_GROUP]?.[SHUFFLE_PADDING_BYTES]).toBeGreaterThan(0);
  });
});

// Test helpers: a seeded corpus, the shell oracle `cat | mapper | LC_ALL=C sort | reducer`, and job runs.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobSpecInput, parseJobSpec } from "@tormr/mapreduce/job-spec";
import { runLocalJob } from "../src/local/run-local-job.ts";
import type { LocalJobOptions } from "../src/local/types.ts";

export const FIXTURES = join(import.meta.dirname, "fixtures");
export const fixture = (name: string) => join(FIXTURES, name);

/** A deterministic PRNG (mulberry32), so every run sees the same corpus. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "zo", "be", "qu", "Ä", "é", "x", "Y"];

/** Zipf-ish words over a small vocabulary, with some non-ASCII and mixed case. */
export function makeText(bytes: number, seed: number): string {
  const random = prng(seed);
  const vocabulary = Array.from({ length: 2000 }, (_, i) => {
    let w = "";
    for (let n = 1 + (i % 4); n > 0; n--) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    return w;
  });
  const lines: string[] = [];
  let size = 0;
  while (size < bytes) {
    const words: string[] = [];
    const n = Math.floor(random() * 12);
    for (let i = 0; i < n; i++)
      words.push(vocabulary[Math.floor(random() ** 3 * vocabulary.length)] as string);
    const line = words.join(random() < 0.1 ? "  " : " ");
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
  }
  return `${lines.join("\n")}\n`;
}

export interface Workspace {
  dir: string;
  input: string;
  output: string;
  cleanup(): void;
}

/** A temp folder with `files` input files of about `bytes` each (the last without a final newline). */
export function workspace(files = 3, bytes = 40_000, seed = 7): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "tormr-test-"));
  const input = join(dir, "input");
  mkdirSync(input);
  for (let i = 0; i < files; i++) {
    let text = makeText(bytes, seed + i);
    if (i === files - 1) text = text.slice(0, -1);
    writeFileSync(join(input, `file-${i}.txt`), text);
  }
  return {
    dir,
    input,
    output: join(dir, "output"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function inputFiles(input: string): string[] {
  return readdirSync(input)
    .sort()
    .map((f) => join(input, f));
}

/** `cat inputs | mapper | LC_ALL=C sort | reducer`, run by the shell, sorted for comparison. */
export function oracle(inputs: string[], mapper: string, reducer?: string): string[] {
  // Each file ends with a newline in the job's view (as in Hadoop), so the oracle adds one too.
  const cat = inputs.map((f) => `cat '${f}'; [ -z "$(tail -c1 '${f}')" ] || echo`).join("; ");
  const pipeline = `( ${cat} ) | ${mapper} | LC_ALL=C sort${reducer ? ` | ${reducer}` : ""}`;
  const out = execFileSync("/bin/sh", ["-c", pipeline], {
    env: { ...process.env, LC_ALL: "C" },
    maxBuffer: 1 << 28,
  });
  return sortedLines(out);
}

/** The word count oracle over every file of an input folder, with the Python fixtures. */
export function wordCountOracle(input: string): string[] {
  return oracle(inputFiles(input), fixture("wc_mapper.py"), fixture("wc_reducer.py"));
}

export function sortedLines(data: Buffer): string[] {
  const text = data.toString("latin1");
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.sort();
}

/** Every part file's lines, concatenated and sorted. */
export function readParts(output: string): string[] {
  const parts = readdirSync(output)
    .filter((f) => f.startsWith("part-"))
    .sort();
  return sortedLines(Buffer.concat(parts.map((p) => readFileSync(join(output, p)))));
}

let sequence = 0;

export function jobSpec(input: Omit<JobSpecInput, "id">) {
  sequence++;
  return parseJobSpec({ id: `job_202611250000_${String(sequence).padStart(4, "0")}`, ...input });
}

export function run(input: Omit<JobSpecInput, "id">, options: LocalJobOptions = {}) {
  return runLocalJob(jobSpec(input), { workers: 2, ...options });
}

/** Small splits, so even a small test input becomes several map tasks. */
export const SMALL_SPLITS = { "mapreduce.input.fileinputformat.split.maxsize": "30000" };

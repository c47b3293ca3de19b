// Benchmark: a JS word count in process vs as a streaming job through js-runner.mjs, on the same ~50 MB input.
// Run: node --import tsx packages/task-runner/test/js-streaming.bench.ts [megabytes] [rounds]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { type CombineIn, jsJobAsStreamingSpec } from "../src/js-streaming.ts";
import { makeCorpus } from "./corpus.ts";
import { jobSpec, runJob } from "./run-job.ts";

const megabytes = Number(process.argv[2] ?? 50);
const rounds = Number(process.argv[3] ?? 3);
const ROOT = join(import.meta.dirname, "../../..");
const CASES: { name: string; module: string; combineIn?: CombineIn }[] = [
  {
    name: "examples/wordcount, combine in the mapper",
    module: join(ROOT, "examples/wordcount/wordcount.mjs"),
  },
  {
    name: "examples/wordcount, combine as a combiner",
    module: join(ROOT, "examples/wordcount/wordcount.mjs"),
    combineIn: "combiner",
  },
  {
    name: "wordcount-nocombine",
    module: join(ROOT, "apps/job-host/test/fixtures/wordcount-nocombine.mjs"),
  },
];

const dir = mkdtempSync(join(tmpdir(), "tormr-js-bench-"));
try {
  const input = join(dir, "input.txt");
  writeFileSync(input, makeCorpus(megabytes * 1024 * 1024, 1));
  console.log(
    `input: ${megabytes} MB, ${rounds} rounds, median wall time (tasks one after another)`,
  );
  let run = 0;
  for (const { name, module, combineIn } of CASES) {
    const time = async (job: JobSpec) => {
      const started = performance.now();
      await runJob({ ...job, output: join(dir, `out-${++run}`) });
      return performance.now() - started;
    };
    const js = jobSpec({
      inputs: [input],
      output: "/unused",
      task: { kind: "js", module },
      numReduceTasks: 2,
    });
    const streaming = await jsJobAsStreamingSpec(js, combineIn ? { combineIn } : {});
    const inProcess: number[] = [];
    const asStreaming: number[] = [];
    // Alternated, so that a slow moment of the machine falls on both.
    for (let i = 0; i < rounds; i++) {
      inProcess.push(await time(js));
      asStreaming.push(await time(streaming));
    }
    const median = (xs: number[]) =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const a = median(inProcess);
    const b = median(asStreaming);
    const rate = (ms: number) => `${(megabytes / (ms / 1000)).toFixed(1)} MB/s`;
    console.log(
      `${name}: in process ${a.toFixed(0)} ms (${rate(a)}), streaming ${b.toFixed(0)} ms (${rate(b)}), streaming/in-process ${(b / a).toFixed(2)}x`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

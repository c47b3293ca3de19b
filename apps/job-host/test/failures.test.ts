// Spills, retries and failures: the job recovers from a flaky attempt and explains a hopeless one.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TASK_GROUP } from "@tormr/mapreduce/counters";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { afterEach, describe, expect, it } from "vitest";
import {
  fixture,
  inputFiles,
  oracle,
  readParts,
  run,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";

let ws: Workspace;
afterEach(() => ws?.cleanup());

describe("spilling to disk", () => {
  it("an input several times the sort budget gives identical output, through 3+ spilled runs", async () => {
    // One split of ~4 MB of map output against a 1 MB budget.
    ws = workspace(1, 3_000_000, 11);
    const spec = {
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming" as const, mapper: "wc_mapper.py", reducer: "wc_reducer.py" },
      numReduceTasks: 2,
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    };
    const result = await run({ ...spec, conf: { "mapreduce.task.io.sort.mb": "1" } });
    const c = result.counters[TASK_GROUP] ?? {};
    expect(c.MAP_OUTPUT_BYTES).toBeGreaterThan(3 * 1024 * 1024);
    expect(c.SPILLED_RUNS).toBeGreaterThanOrEqual(3);
    expect(readParts(ws.output)).toEqual(wordCountOracle(ws.input));
  });

  it("JS jobs spill too; with a combiner, the buffer is combined each time it fills", async () => {
    ws = workspace(1, 3_000_000, 12);
    const expected = oracle(
      inputFiles(ws.input),
      fixture("wc_mapper.py"),
      fixture("wc_reducer.py"),
    );
    const conf = { "mapreduce.task.io.sort.mb": "1" };
    const plain = await run({
      inputs: [ws.input],
      output: join(ws.dir, "plain"),
      task: { kind: "js", module: fixture("wordcount-nocombine.mjs") },
      numReduceTasks: 2,
      conf,
    });
    expect(plain.counters[TASK_GROUP]?.SPILLED_RUNS).toBeGreaterThanOrEqual(3);
    expect(readParts(join(ws.dir, "plain"))).toEqual(expected);

    // Many distinct keys (a cycle of 40,000 words, each seen 5 times) fill a 1 MB combine buffer
    // again and again: one map task, yet more combined records than keys.
    const many = join(ws.dir, "many-keys");
    mkdirSync(many);
    const words = Array.from({ length: 200_000 }, (_, i) => `w${(i * 7919) % 40_000}`);
    writeFileSync(join(many, "words.txt"), `${words.join("\n")}\n`);
    const combined = await run({
      inputs: [many],
      output: join(ws.dir, "combined"),
      task: { kind: "js", module: fixture("wordcount.mjs") },
      numReduceTasks: 2,
      conf,
    });
    const keys = oracle(
      [join(many, "words.txt")],
      fixture("wc_mapper.py"),
      fixture("wc_reducer.py"),
    );
    expect(combined.maps).toBe(1);
    expect(combined.counters[TASK_GROUP]?.COMBINE_OUTPUT_RECORDS).toBeGreaterThan(2 * keys.length);
    expect(readParts(join(ws.dir, "combined"))).toEqual(keys);
  });
});

describe("retries and failures", () => {
  it("a mapper that fails on its first attempt only recovers through a retry", async () => {
    ws = workspace(3, 20_000);
    const markers = join(ws.dir, "markers");
    mkdirSync(markers);
    const retries: string[] = [];
    const result = await run(
      {
        inputs: [ws.input],
        output: ws.output,
        task: { kind: "streaming", mapper: "fail_once_mapper.sh", reducer: "cat" },
        numReduceTasks: 1,
        files: [fixture("fail_once_mapper.sh")],
        cmdenv: { TORMR_TEST_MARKERS: markers },
        conf: { "mapreduce.input.fileinputformat.split.maxsize": "30000" },
      },
      {
        onProgress: (p) =>
          p.retry && retries.push(`${p.retry.task} ${p.retry.attempt} ${p.retry.message}`),
      },
    );
    expect(result.failedAttempts).toBe(result.maps);
    expect(retries).toHaveLength(result.maps);
    expect(retries[0]).toMatch(
      /^task_\S+_m_\d{6} 1 mapper 'fail_once_mapper.sh' exited with code 3$/,
    );
    expect(readParts(ws.output)).toEqual(oracle(inputFiles(ws.input), "cat"));
  });

  it("a mapper that always fails ends the job with the task, attempt, exit code and stderr", async () => {
    ws = workspace(1, 1_000);
    const error = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "always_fail_mapper.sh", reducer: "cat" },
      numReduceTasks: 1,
      files: [fixture("always_fail_mapper.sh")],
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MapReduceError);
    expect((error as MapReduceError).code).toBe("ERR_JOB_FAILED");
    expect((error as Error).message).toMatch(
      /^task_\S+_m_000000 failed 4 times; attempt 3: mapper 'always_fail_mapper.sh' exited with code 7\nlast stderr:\ncannot parse record 42$/,
    );
    // Nothing half-written is left behind.
    expect(existsSync(ws.output)).toBe(false);
  });

  it("a failing reducer is retried as often as -D mapreduce.reduce.maxattempts says", async () => {
    ws = workspace(1, 1_000);
    const retries: number[] = [];
    const error = await run(
      {
        inputs: [ws.input],
        output: ws.output,
        task: { kind: "streaming", mapper: "cat", reducer: "sh -c 'cat >/dev/null; exit 9'" },
        numReduceTasks: 1,
        conf: { "mapreduce.reduce.maxattempts": "2" },
      },
      { onProgress: (p) => p.retry && retries.push(p.retry.attempt) },
    ).catch((e: unknown) => e);
    expect(retries).toEqual([1]);
    expect((error as Error).message).toMatch(
      /_r_000000 failed 2 times; attempt 1: reducer .* exited with code 9/,
    );
    expect(existsSync(ws.output)).toBe(false);
  });

  it("a worker process that dies mid-task fails only that attempt", async () => {
    ws = workspace(2, 20_000);
    const markers = join(ws.dir, "markers");
    mkdirSync(markers);
    // The first attempt of each map kills its own worker process (the mapper's parent).
    const mapper = `sh -c 'm="$TORMR_TEST_MARKERS/$mapreduce_task_id"; if [ ! -e "$m" ]; then : > "$m"; kill -9 $PPID; sleep 5; fi; exec cat'`;
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper, reducer: "cat" },
      numReduceTasks: 1,
      cmdenv: { TORMR_TEST_MARKERS: markers },
    });
    expect(result.failedAttempts).toBeGreaterThanOrEqual(1);
    expect(readParts(ws.output)).toEqual(oracle(inputFiles(ws.input), "cat"));
  });

  it("cancelling stops the job and removes its output", async () => {
    ws = workspace(2, 20_000);
    const controller = new AbortController();
    const job = run(
      {
        inputs: [ws.input],
        output: ws.output,
        task: {
          kind: "streaming",
          mapper: "sh -c 'echo reporter:status:sleeping >&2; sleep 37; cat'",
          reducer: "cat",
        },
        numReduceTasks: 1,
      },
      {
        signal: controller.signal,
        onProgress: (p) => p.status === "sleeping" && controller.abort(),
      },
    );
    await expect(job).rejects.toMatchObject({ code: "ERR_CANCELLED" });
    expect(existsSync(ws.output)).toBe(false);
    // The mappers died with their workers: no `sleep 37` is left behind. Exact match: other
    // programs on the machine (say a `sleep 300`) are not ours.
    const { execFileSync } = await import("node:child_process");
    const sleepers = () =>
      execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
        .split("\n")
        .filter((l) => l.trim() === "sleep 37");
    // Killed at once, but give the kernel a moment to reap them.
    for (let i = 0; i < 20 && sleepers().length > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(sleepers()).toEqual([]);
  });
});

// JS job modules through the same runner, checked against the same oracle as streaming jobs.
import { readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { TASK_GROUP } from "@tormr/mapreduce/counters";
import { afterEach, describe, expect, it } from "vitest";
import {
  fixture,
  inputFiles,
  readParts,
  run,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";

let ws: Workspace;
afterEach(() => ws?.cleanup());

// The JS fixtures split on whitespace as the Python fixtures do (the corpus holds only spaces and newlines).

/** Lines as UTF-8 text, as the JS module wrote them. */
const readTextParts = () =>
  readParts(ws.output).map((l) => Buffer.from(l, "latin1").toString("utf8"));
const oracleText = (lines: string[]) => lines.map((l) => Buffer.from(l, "latin1").toString("utf8"));

describe("JS job modules", () => {
  it("word count with a combiner", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "js", module: fixture("wordcount.mjs") },
      numReduceTasks: 3,
      conf: SMALL_SPLITS,
    });
    expect(readTextParts()).toEqual(oracleText(wordCountOracle(ws.input)));
    const c = result.counters[TASK_GROUP] ?? {};
    expect(c.COMBINE_INPUT_RECORDS).toBe(c.MAP_OUTPUT_RECORDS);
    expect(c.REDUCE_INPUT_RECORDS).toBe(c.COMBINE_OUTPUT_RECORDS);
    expect(c.REDUCE_OUTPUT_RECORDS).toBe(c.REDUCE_INPUT_GROUPS);
  });

  it("word count without a combiner: every record is shuffled", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "js", module: fixture("wordcount-nocombine.mjs") },
      numReduceTasks: 2,
      conf: SMALL_SPLITS,
    });
    expect(readTextParts()).toEqual(oracleText(wordCountOracle(ws.input)));
    const c = result.counters[TASK_GROUP] ?? {};
    expect(c.REDUCE_INPUT_RECORDS).toBe(c.MAP_OUTPUT_RECORDS);
    expect(c.COMBINE_INPUT_RECORDS).toBeUndefined();
  });

  it("map-only", async () => {
    ws = workspace();
    await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "js", module: fixture("map-only.mjs") },
      numReduceTasks: 0,
      conf: SMALL_SPLITS,
    });
    const expected = inputFiles(ws.input)
      .flatMap((f) => readFileSync(f, "utf8").replace(/\n$/, "").split("\n"))
      .map((l) => `${l.toUpperCase()}\t`)
      .sort();
    expect(readTextParts().sort()).toEqual(expected);
  });

  it("CRLF input reaches map() without its CR, as with Hadoop's line reader", async () => {
    ws = workspace(1, 100);
    writeFileSync(join(ws.input, "file-0.txt"), "one\r\ntwo\r\nthree\n");
    await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "js", module: fixture("map-only.mjs") },
      numReduceTasks: 0,
    });
    expect(readTextParts()).toEqual(["ONE\t", "THREE\t", "TWO\t"]);
  });

  it("ctx.inputFile and ctx.counter", async () => {
    ws = workspace(3, 50_000);
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "js", module: fixture("input-file.mjs") },
      numReduceTasks: 2,
      conf: SMALL_SPLITS,
    });
    const expected = inputFiles(ws.input)
      .map(
        (f) => `${basename(f)}\t${readFileSync(f, "utf8").replace(/\n$/, "").split("\n").length}`,
      )
      .sort();
    expect(readTextParts()).toEqual(expected);
    expect(result.counters.Custom?.Lines).toBe(result.counters[TASK_GROUP]?.MAP_INPUT_RECORDS);
  });

  it("a key holding a TAB fails the job with a clear error", async () => {
    ws = workspace(1, 1_000);
    await expect(
      run({
        inputs: [ws.input],
        output: ws.output,
        task: { kind: "js", module: fixture("bad-emit.mjs") },
        numReduceTasks: 1,
        conf: { "mapreduce.map.maxattempts": "1" },
      }),
    ).rejects.toThrow(/a key may hold no TAB or newline/);
  });
});

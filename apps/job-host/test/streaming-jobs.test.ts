// Hadoop Streaming jobs through two local worker processes, checked against the shell oracle.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TASK_GROUP } from "@tormr/mapreduce/counters";
import { afterEach, describe, expect, it } from "vitest";
import {
  fixture,
  inputFiles,
  oracle,
  readParts,
  run,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";

let ws: Workspace;
afterEach(() => ws?.cleanup());

const wcFiles = [fixture("wc_mapper.py"), fixture("wc_reducer.py")];

describe("streaming jobs match `cat | mapper | LC_ALL=C sort | reducer`", () => {
  it("word count", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "wc_mapper.py", reducer: "wc_reducer.py" },
      numReduceTasks: 1,
      files: wcFiles,
      conf: SMALL_SPLITS,
    });
    expect(result.maps).toBeGreaterThan(2);
    expect(readParts(ws.output)).toEqual(wordCountOracle(ws.input));
    expect(readdirSync(ws.output).sort()).toEqual(["_SUCCESS", "part-00000"]);
    const c = result.counters[TASK_GROUP] ?? {};
    expect(c.MAP_OUTPUT_RECORDS).toBe(c.REDUCE_INPUT_RECORDS);
    expect(c.REDUCE_OUTPUT_RECORDS).toBe(c.REDUCE_INPUT_GROUPS);
    expect(c.MAP_INPUT_RECORDS).toBe(
      inputFiles(ws.input).reduce(
        (n, f) =>
          n +
          readFileSync(f, "latin1")
            .split("\n")
            .filter((_, i, a) => i < a.length - 1 || a[i] !== "").length,
        0,
      ),
    );
  });

  it("with a combiner, the output is the same and the shuffle shrinks", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: {
        kind: "streaming",
        mapper: "wc_mapper.py",
        combiner: "wc_reducer.py",
        reducer: "wc_reducer.py",
      },
      numReduceTasks: 2,
      files: wcFiles,
      conf: SMALL_SPLITS,
    });
    expect(readParts(ws.output)).toEqual(wordCountOracle(ws.input));
    const c = result.counters[TASK_GROUP] ?? {};
    expect(c.COMBINE_INPUT_RECORDS).toBe(c.MAP_OUTPUT_RECORDS);
    expect(c.COMBINE_OUTPUT_RECORDS).toBeLessThan((c.COMBINE_INPUT_RECORDS ?? 0) / 2);
    expect(c.REDUCE_INPUT_RECORDS).toBe(c.COMBINE_OUTPUT_RECORDS);
  });

  it("with 3 reducers, each key lands in exactly one part", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "wc_mapper.py", reducer: "wc_reducer.py" },
      numReduceTasks: 3,
      files: wcFiles,
      conf: SMALL_SPLITS,
    });
    expect(result.parts.map((p) => p.slice(-10))).toEqual([
      "part-00000",
      "part-00001",
      "part-00002",
    ]);
    expect(readParts(ws.output)).toEqual(wordCountOracle(ws.input));
    for (const part of result.parts) {
      const keys = readFileSync(part, "latin1")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("\t")[0] as string);
      expect(keys.length).toBeGreaterThan(0);
      // Within a part, keys come out in byte order, as the reducer received them.
      expect(keys).toEqual([...keys].sort());
    }
  });

  it("map-only (-reducer NONE): one part per map task, lines as the mapper wrote them", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "wc_mapper.py" },
      numReduceTasks: 0,
      files: wcFiles,
      conf: SMALL_SPLITS,
    });
    expect(result.parts).toHaveLength(result.maps);
    expect(readParts(ws.output)).toEqual(oracle(inputFiles(ws.input), fixture("wc_mapper.py")));
  });

  it("a mapper sees mapreduce_map_input_file", async () => {
    ws = workspace(3, 50_000);
    await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "input_file_mapper.sh", reducer: "cat" },
      numReduceTasks: 2,
      files: [fixture("input_file_mapper.sh")],
      conf: SMALL_SPLITS,
    });
    const expected = inputFiles(ws.input).flatMap((f) =>
      oracle([f], `env mapreduce_map_input_file='${f}' ${fixture("input_file_mapper.sh")}`),
    );
    expect(readParts(ws.output)).toEqual(expected.sort());
  });

  it("a mapper that emits lines without a TAB: the whole line is the key", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "notab_mapper.py", reducer: "count_lines_reducer.py" },
      numReduceTasks: 3,
      files: [fixture("notab_mapper.py"), fixture("count_lines_reducer.py")],
      conf: SMALL_SPLITS,
    });
    const expected = oracle(
      inputFiles(ws.input),
      fixture("notab_mapper.py"),
      fixture("count_lines_reducer.py"),
    );
    expect(readParts(ws.output)).toEqual(expected);
    expect(result.counters[TASK_GROUP]?.REDUCE_INPUT_GROUPS).toBe(expected.length);
  });

  it("-D stream.num.map.output.key.fields=2 groups and partitions on two fields", async () => {
    ws = workspace();
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "pair_mapper.py", reducer: "pair_reducer.py" },
      numReduceTasks: 3,
      files: [fixture("pair_mapper.py"), fixture("pair_reducer.py")],
      conf: { ...SMALL_SPLITS, "stream.num.map.output.key.fields": "2" },
    });
    const expected = oracle(
      inputFiles(ws.input),
      fixture("pair_mapper.py"),
      fixture("pair_reducer.py"),
    );
    expect(readParts(ws.output)).toEqual(expected);
    // One reduce group per two-field key (a one-field key would give fewer groups) ...
    expect(result.counters[TASK_GROUP]?.REDUCE_INPUT_GROUPS).toBe(expected.length);
    // ... and a first field spread over several parts shows the partitioner hashed both fields.
    const partsOf = new Map<string, Set<string>>();
    for (const part of result.parts) {
      for (const line of readFileSync(part, "latin1").split("\n").filter(Boolean)) {
        const first = line.split("\t")[0] as string;
        partsOf.set(first, (partsOf.get(first) ?? new Set()).add(part));
      }
    }
    expect([...partsOf.values()].some((parts) => parts.size > 1)).toBe(true);
  });

  it("-D stream.map.output.field.separator: the reducer gets key TAB value, as in Hadoop", async () => {
    ws = workspace(1, 100);
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      // Every line becomes "x.<length>.1": the key is "x.<length>" with two dot-separated fields.
      task: {
        kind: "streaming",
        mapper: `awk '{ print "x." length($0) ".1" }'`,
        reducer: "cat",
      },
      numReduceTasks: 2,
      conf: {
        "stream.map.output.field.separator": ".",
        "stream.num.map.output.key.fields": "2",
      },
    });
    const expected = oracle(inputFiles(ws.input), `awk '{ print "x." length($0) "\t1" }'`);
    expect(readParts(ws.output)).toEqual(expected);
    expect(result.counters[TASK_GROUP]?.REDUCE_INPUT_GROUPS).toBe(
      new Set(expected.map((l) => l.split("\t")[0])).size,
    );
  });

  it("small files packed into one split each get their own mapper run; unterminated output lines stay apart", async () => {
    ws = workspace(3, 2_000);
    // Prints its input's line count with no newline after it.
    const mapper = `sh -c 'printf "%s" "$(wc -l)"'`;
    const counts = inputFiles(ws.input)
      .map((f) => String(readFileSync(f, "latin1").replace(/\n$/, "").split("\n").length))
      .sort();
    for (const reduces of [0, 1]) {
      const output = join(ws.dir, `out-${reduces}`);
      const result = await run({
        inputs: [ws.input],
        output,
        task: { kind: "streaming", mapper, ...(reduces ? { reducer: "cat" } : {}) },
        numReduceTasks: reduces,
      });
      expect(result.maps).toBe(1);
      expect(readParts(output)).toEqual(counts);
      expect(result.counters[TASK_GROUP]?.MAP_OUTPUT_RECORDS).toBe(3);
    }
  });

  it("reports reporter:counter: lines and exports -D keys and -cmdenv to the task", async () => {
    ws = workspace(1, 5_000);
    const result = await run({
      inputs: [ws.input],
      output: ws.output,
      task: { kind: "streaming", mapper: "counter_mapper.sh" },
      numReduceTasks: 0,
      files: [fixture("counter_mapper.sh")],
    });
    const lines = readFileSync(join(ws.input, "file-0.txt"), "latin1").split("\n").length;
    expect(result.counters.Custom?.["Lines seen"]).toBe(lines);
    ws.cleanup();
    ws = workspace(1, 100);
    await run({
      inputs: [ws.input],
      output: ws.output,
      task: {
        kind: "streaming",
        mapper:
          "sh -c 'echo \"$my_setting $GREETING $mapreduce_job_id $mapreduce_task_attempt_id\"'",
      },
      numReduceTasks: 0,
      cmdenv: { GREETING: "hello" },
      conf: { "my.setting": "42" },
    });
    expect(readParts(ws.output)).toEqual([
      expect.stringMatching(
        /^42 hello job_202611250000_\d{4} attempt_202611250000_\d{4}_m_000000_0$/,
      ),
    ]);
  });
});

// jsJobAsStreaming's commands and jsJobAsStreamingSpec's job: names quoted, files shipped, the record format forced.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJobSpec } from "@tormr/mapreduce/job-spec";
import { afterAll, describe, expect, it } from "vitest";
import {
  JOB_CONF_ENV,
  JS_RUNNER_NAME,
  JS_RUNNER_PATH,
  jobModuleExports,
  jsJobAsStreaming,
  jsJobAsStreamingSpec,
  shellQuote,
} from "./js-streaming.ts";

const dir = mkdtempSync(join(tmpdir(), "tormr-js-streaming-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function moduleFile(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

const full = moduleFile(
  "full.mjs",
  "export function map() {}\nexport function combine() {}\nexport function reduce() {}\n",
);
const mapOnly = moduleFile("map-only.mjs", "export function map() {}\n");

const job = (module: string, extra: Record<string, unknown> = {}) =>
  parseJobSpec({
    id: "job_202611250000_0001",
    inputs: ["/in"],
    output: "/out",
    task: { kind: "js", module },
    numReduceTasks: 2,
    ...extra,
  });

describe("jsJobAsStreaming", () => {
  it("names the runner, the role and the module", () => {
    expect(jsJobAsStreaming("wordcount.mjs", { hasCombine: true, hasReduce: true })).toEqual({
      mapper: "node js-runner.mjs map-combine wordcount.mjs",
      reducer: "node js-runner.mjs reduce wordcount.mjs",
    });
    const combiner = { hasCombine: true, hasReduce: true, combineIn: "combiner" } as const;
    expect(jsJobAsStreaming("wordcount.mjs", combiner)).toEqual({
      mapper: "node js-runner.mjs map wordcount.mjs",
      combiner: "node js-runner.mjs combine wordcount.mjs",
      reducer: "node js-runner.mjs reduce wordcount.mjs",
    });
    expect(
      jsJobAsStreaming("m.mjs", { hasCombine: false, hasReduce: true, runner: "r.mjs" }),
    ).toEqual({ mapper: "node r.mjs map m.mjs", reducer: "node r.mjs reduce m.mjs" });
  });

  it("has no combiner without a reducer: a map-only job runs neither", () => {
    expect(jsJobAsStreaming("m.mjs", { hasCombine: true, hasReduce: false })).toEqual({
      mapper: "node js-runner.mjs map m.mjs",
    });
  });

  it("quotes names for the shell", () => {
    expect(
      jsJobAsStreaming("it's $HOME; rm -rf.mjs", { hasCombine: false, hasReduce: false }),
    ).toEqual({ mapper: `node js-runner.mjs map 'it'\\''s $HOME; rm -rf.mjs'` });
    expect(shellQuote("lib/job-v2.mjs")).toBe("lib/job-v2.mjs");
    expect(shellQuote("")).toBe("''");
    expect(shellQuote("~x")).toBe("'~x'");
  });

  it.each(["/abs/job.mjs", "../job.mjs", "lib/../../job.mjs", ""])(
    "refuses the module path '%s', which is not inside the job folder",
    (name) => {
      expect(() => jsJobAsStreaming(name, { hasCombine: false, hasReduce: false })).toThrow(
        `job module '${name}': expected a path inside the job folder (relative, without '..')`,
      );
    },
  );
});

describe("jobModuleExports", () => {
  it("loads the module as the engine does", async () => {
    expect(await jobModuleExports(full, true)).toEqual({ hasCombine: true, hasReduce: true });
    expect(await jobModuleExports(mapOnly, false)).toEqual({ hasCombine: false, hasReduce: false });
    await expect(jobModuleExports(mapOnly, true)).rejects.toMatchObject({
      code: "ERR_BAD_JOB_MODULE",
      message: `job module ${mapOnly} must export a function 'reduce', got nothing`,
    });
  });
});

describe("jsJobAsStreamingSpec", () => {
  it("ships the runner and the module, and passes the configuration for ctx.conf", async () => {
    const conf = { "my.key": "v", "stream.num.map.output.key.fields": "2" };
    const spec = await jsJobAsStreamingSpec(job(full, { files: ["/data/dict.txt"], conf }));
    expect(spec.task).toEqual({
      kind: "streaming",
      mapper: "node js-runner.mjs map-combine full.mjs",
      reducer: "node js-runner.mjs reduce full.mjs",
    });
    expect(spec.files).toEqual(["/data/dict.txt", JS_RUNNER_PATH, full]);
    expect(JSON.parse(spec.cmdenv[JOB_CONF_ENV] ?? "")).toEqual(conf);
    // The engine keys a JS job's records by their first TAB whatever the configuration says.
    expect(spec.conf).toEqual({ "my.key": "v", "stream.num.map.output.key.fields": "1" });
    expect(spec.id).toBe("job_202611250000_0001");
  });

  it("ships a module once when it is already among the files", async () => {
    const spec = await jsJobAsStreamingSpec(job(full, { files: [full] }));
    expect(spec.files).toEqual([full, JS_RUNNER_PATH]);
  });

  it("refuses a file whose name the runner or the module needs", async () => {
    await expect(
      jsJobAsStreamingSpec(job(full, { files: [`/elsewhere/${JS_RUNNER_NAME}`] })),
    ).rejects.toThrow(
      `-file /elsewhere/js-runner.mjs: its name 'js-runner.mjs' is taken by ${JS_RUNNER_PATH}, which the JS job needs in its folder`,
    );
    await expect(jsJobAsStreamingSpec(job(full, { files: ["/other/full.mjs"] }))).rejects.toThrow(
      /-file \/other\/full.mjs: its name 'full.mjs' is taken by/,
    );
  });

  it("fails as the engine would for a reduce job whose module has no reduce", async () => {
    await expect(jsJobAsStreamingSpec(job(mapOnly))).rejects.toThrow(
      `job module ${mapOnly} must export a function 'reduce', got nothing`,
    );
    const spec = await jsJobAsStreamingSpec(job(mapOnly, { numReduceTasks: 0 }));
    expect(spec.task).toEqual({ kind: "streaming", mapper: "node js-runner.mjs map map-only.mjs" });
    // A map-only job combines nothing, though its module has a combine and a reduce.
    const fullMapOnly = await jsJobAsStreamingSpec(job(full, { numReduceTasks: 0 }));
    expect(fullMapOnly.task).toEqual({
      kind: "streaming",
      mapper: "node js-runner.mjs map full.mjs",
    });
  });

  it("takes only JS jobs", async () => {
    const streaming = parseJobSpec({
      id: "job_202611250000_0002",
      inputs: ["/in"],
      output: "/out",
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 0,
    });
    await expect(jsJobAsStreamingSpec(streaming)).rejects.toThrow(
      "job job_202611250000_0002: expected a JS job, got streaming",
    );
  });
});

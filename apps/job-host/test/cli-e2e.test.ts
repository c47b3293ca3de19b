// The real `tormr` binary: good jobs run, and each kind of bad input gets one clear line and a meaningful exit.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { fixture, readParts, type Workspace, wordCountOracle, workspace } from "./helpers.ts";

const TORMR = join(import.meta.dirname, "..", "bin", "tormr.js");
let ws: Workspace;
afterEach(() => ws?.cleanup());

function tormr(args: string[]) {
  const result = spawnSync(process.execPath, [TORMR, ...args], {
    cwd: ws.dir,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function shipWordCount() {
  copyFileSync(fixture("wc_mapper.py"), join(ws.dir, "mapper.py"));
  copyFileSync(fixture("wc_reducer.py"), join(ws.dir, "reducer.py"));
}

const streaming = (...extra: string[]) => [
  "streaming",
  "-input",
  "input",
  "-output",
  "out",
  "-mapper",
  "mapper.py",
  "-reducer",
  "reducer.py",
  "-file",
  "mapper.py",
  "-file",
  "reducer.py",
  ...extra,
];

describe("tormr CLI", () => {
  it("runs a pasted `hadoop jar hadoop-streaming.jar …` line with one word changed", () => {
    ws = workspace(2, 20_000);
    shipWordCount();
    const r = tormr([
      "jar",
      "/opt/hadoop/share/hadoop/tools/lib/hadoop-streaming-3.3.6.jar",
      "-D",
      "mapreduce.job.reduces=2",
      "-files",
      "mapper.py,reducer.py",
      "-input",
      "input",
      "-output",
      "out",
      "-mapper",
      "mapper.py",
      "-reducer",
      "reducer.py",
      "--workers",
      "2",
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Map input records/);
    expect(readdirSync(join(ws.dir, "out")).sort()).toEqual([
      "_PROVENANCE.json",
      "_SUCCESS",
      "part-00000",
      "part-00001",
    ]);
    expect(readParts(join(ws.dir, "out"))).toEqual(wordCountOracle(ws.input));
  });

  it("a missing input: exit 3, the path named, nothing written", () => {
    ws = workspace(1, 100);
    shipWordCount();
    const r = tormr(streaming().map((a) => (a === "input" ? "no-such-dir" : a)));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^tormr: input path does not exist: .*no-such-dir$/m);
    expect(existsSync(join(ws.dir, "out"))).toBe(false);
  });

  it("a mapper that is not executable: exit 3, with what to do", () => {
    ws = workspace(1, 100);
    shipWordCount();
    chmodSync(join(ws.dir, "mapper.py"), 0o644);
    const r = tormr(streaming());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/mapper 'mapper.py' .* is not executable: chmod \+x it/);
    expect(existsSync(join(ws.dir, "out"))).toBe(false);
  });

  it("an unknown flag: exit 2, the flag named", () => {
    ws = workspace(1, 100);
    shipWordCount();
    const r = tormr(streaming("-numReduceTask", "2"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/-numReduceTask\b/);
    expect(r.stderr).toMatch(/-numReduceTasks/);
    expect(existsSync(join(ws.dir, "out"))).toBe(false);
  });

  it("a malformed -D: exit 2; a -D with a bad value: exit 3", () => {
    ws = workspace(1, 100);
    shipWordCount();
    const noEquals = tormr(streaming("-D", "mapreduce.task.io.sort.mb"));
    expect(noEquals.code).toBe(2);
    expect(noEquals.stderr).toMatch(/-D/);
    const badValue = tormr(streaming("-D", "mapreduce.task.io.sort.mb=lots"));
    expect(badValue.code).toBe(3);
    expect(badValue.stderr).toMatch(
      /mapreduce\.task\.io\.sort\.mb=lots: expected a positive whole number/,
    );
    expect(existsSync(join(ws.dir, "out"))).toBe(false);
  });

  it("an existing output folder: exit 3, and its contents are left alone", () => {
    ws = workspace(1, 100);
    shipWordCount();
    mkdirSync(join(ws.dir, "out"));
    writeFileSync(join(ws.dir, "out", "precious.txt"), "keep me");
    const r = tormr(streaming());
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/output folder already exists/);
    expect(readdirSync(join(ws.dir, "out"))).toEqual(["precious.txt"]);
  });

  it("a job whose mapper always fails: exit 4, the stderr tail shown, no output left", () => {
    ws = workspace(1, 100);
    copyFileSync(fixture("always_fail_mapper.sh"), join(ws.dir, "fail.sh"));
    const r = tormr([
      "streaming",
      "-input",
      "input",
      "-output",
      "out",
      "-mapper",
      "fail.sh",
      "-file",
      "fail.sh",
      "-D",
      "mapreduce.map.maxattempts=2",
    ]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/failed 2 times; attempt 1: mapper 'fail.sh' exited with code 7/);
    expect(r.stderr).toMatch(/cannot parse record 42/);
    expect(existsSync(join(ws.dir, "out"))).toBe(false);
  });

  it("--help documents every streaming flag", () => {
    ws = workspace(1, 100);
    const r = tormr(["streaming", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "-input",
      "-output",
      "-mapper",
      "-combiner",
      "-reducer",
      "-numReduceTasks",
      "-file",
      "-cmdenv",
      "-D",
      "--workers",
    ]) {
      expect(r.stdout).toContain(flag);
    }
  });
});

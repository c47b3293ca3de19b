// `tormr streaming … --job-host <dir>`: a job submitted to a running `tormr host`, run by volunteers' workers from the printed tickets.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HostProcess,
  killAll,
  startHostProcess,
  startWorkerProcess,
  type WorkerProcess,
} from "./cluster-helpers.ts";
import { fixture, readParts, type Workspace, wordCountOracle, workspace } from "./helpers.ts";

const TORMR = join(import.meta.dirname, "..", "bin", "tormr.js");
let w: Workspace;
let dir: string;
let host: HostProcess;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  w = workspace(2, 20_000, 71);
  dir = mkdtempSync(join(tmpdir(), "tormr-submit-"));
  host = await startHostProcess(join(dir, "host"));
}, 60_000);
afterAll(async () => {
  await killAll(host, workers);
  rmSync(dir, { recursive: true, force: true });
  w.cleanup();
});

describe("tormr streaming --job-host", () => {
  it("submits to the running host, prints a ticket per worker, and follows the job to the oracle's output", async () => {
    const output = join(w.dir, "out");
    const cli = spawn(
      process.execPath,
      [
        TORMR,
        "streaming",
        ...["-input", w.input, "-output", output],
        ...["-mapper", "python3 wc_mapper.py", "-reducer", "python3 wc_reducer.py"],
        ...["-file", fixture("wc_mapper.py"), "-file", fixture("wc_reducer.py")],
        ...["--workers", "2", "--job-host", join(dir, "host")],
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const stdout: string[] = [];
    createInterface({ input: cli.stdout }).on("line", (line) => stdout.push(line));
    const exited = new Promise<number | null>((resolve) => cli.once("exit", resolve));
    const commands: string[] = [];
    await new Promise<void>((resolve) => {
      createInterface({ input: cli.stderr }).on("line", (line) => {
        if (line.trim().startsWith("tormr-worker start")) commands.push(line.trim());
        if (commands.length === 2) resolve();
      });
    });
    for (const [i, command] of commands.entries()) {
      const [, url, ticket] = /--job-host (\S+) --ticket (\S+)/.exec(command) ?? [];
      expect(url).toBe(host.workerUrl);
      workers.push(
        await startWorkerProcess(url as string, ticket as string, join(dir, `w${i}`), "bwrap"),
      );
    }
    expect(await exited).toBe(0);
    expect(readParts(output)).toEqual(wordCountOracle(w.input));
    expect(stdout.join("\n")).toContain("Reduce output records");
  }, 120_000);

  it("says so, with exit 3, when no job host runs on that folder", () => {
    const result = spawnSync(
      process.execPath,
      [
        TORMR,
        "streaming",
        "-input",
        w.input,
        "-output",
        join(w.dir, "never"),
        "-mapper",
        "cat",
        "--job-host",
        join(dir, "nothing"),
      ],
      { encoding: "utf8" },
    );
    expect(result.status).toBe(3);
    expect(result.stderr).toContain(
      `no job host is running on ${join(dir, "nothing")}; start one with 'tormr host --state-dir`,
    );
  });
});

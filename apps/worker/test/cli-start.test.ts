// `tormr-worker start` in-process with a fake task loop: checks, the job preview, status.json, logs, stopping.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { writeStatus } from "../src/status-file.ts";
import { initialStatus } from "../src/worker-status.ts";
import {
  type FakeLoop,
  fakeJob,
  JOB_HOST,
  joinLike,
  okProbes,
  TICKET,
  type World,
  type WorldOptions,
  world,
} from "./cli-helpers.ts";

let w: World;
afterEach(() => w?.cleanup());

const START = ["start", "--job-host", JOB_HOST, "--ticket", TICKET];

async function start(options: WorldOptions, ...extra: string[]): Promise<number> {
  w = await world(options);
  return w.run(...START, ...extra);
}

describe("start passes the settings to the task loop", () => {
  it("with defaults, the Docker sandbox and the standard image built locally", async () => {
    let image = "";
    const loop: FakeLoop = async (o) => {
      image = await o.resolveImage("tormr/python:requesterhash");
      o.onEvent?.({ type: "left", reason: "the job is over" });
      return { reason: "the job is over", succeeded: 0, failed: 0 };
    };
    expect(await start({ loop }, "--yes")).toBe(0);
    const [options] = w.loops;
    expect(options).toMatchObject({
      jobHost: JOB_HOST,
      ticket: TICKET,
      workDir: w.workDir,
      slots: 1,
      memoryBytes: 512 * 1024 * 1024,
      limits: { memoryBytes: 512 * 1024 * 1024, cpus: 1, pids: 128, tmpfsBytes: 64 * 1024 * 1024 },
      diskQuotaBytes: 10240 * 1024 * 1024,
    });
    expect(options?.sandbox?.kind).toBe("docker");
    expect(image).toBe("tormr/python:local");
  });

  it("with the config file under flags, and the ticket from the environment", async () => {
    w = await world({ env: { TORMR_WORKER_TICKET: TICKET } });
    await mkdir(w.configDir, { recursive: true });
    const workDir = join(w.root, "from-file");
    await writeFile(join(w.configDir, "config.json"), JSON.stringify({ slots: 3, workDir }));
    expect(
      await w.run("start", "--job-host", JOB_HOST, "--slots", "2", "--sandbox", "bwrap", "-y"),
    ).toBe(0);
    expect(w.loops[0]).toMatchObject({ ticket: TICKET, slots: 2, workDir });
    expect(w.loops[0]?.sandbox?.kind).toBe("bwrap");
  });

  it("falls back to bwrap when no Docker daemon answers", async () => {
    expect(
      await start({ probes: { ...okProbes, dockerAnswers: async () => false } }, "--yes"),
    ).toBe(0);
    expect(w.loops[0]?.sandbox?.kind).toBe("bwrap");
  });

  it("runs with no sandbox only when asked, with a loud warning", async () => {
    expect(await start({}, "--unsafe-no-sandbox", "--yes")).toBe(0);
    expect(w.loops[0]?.sandbox).toBeUndefined();
    const warning = w.stderr.json().find((line) => line.unsafeNoSandbox === true);
    expect(warning).toMatchObject({ level: 40 });
    expect(String(warning?.msg)).toContain("runs as YOUR user");
  });
});

describe("start refuses to begin (exit 3) with one line saying why", () => {
  const lastError = () => w.stderr.json().find((line) => line.level === 50);

  it.each([
    [
      "docker",
      "sandbox docker was asked for, but no Docker daemon answers at DOCKER_HOST or the default socket; start dockerd",
    ],
    ["bwrap", "sandbox bwrap was asked for, but bwrap does not run here; install bubblewrap"],
    [
      "auto",
      "no sandbox: no Docker daemon answers at DOCKER_HOST or the default socket and bwrap does not run",
    ],
  ])("when sandbox %s is missing", async (kind, message) => {
    const none = { ...okProbes, dockerAnswers: async () => false, bwrapWorks: async () => false };
    expect(await start({ probes: none }, "--sandbox", kind, "--yes")).toBe(3);
    expect(lastError()).toMatchObject({ code: "ERR_NO_SANDBOX", exitCode: 3 });
    expect(String(lastError()?.msg)).toContain(`tormr-worker: ${message}`);
    expect(w.loops).toEqual([]);
  });

  it("when the work folder has less free space than diskQuotaMb", async () => {
    expect(await start({ freeBytes: 5 * 1024 * 1024 }, "--yes")).toBe(3);
    expect(String(lastError()?.msg)).toContain("has 5 MiB free, less than diskQuotaMb (10240 MiB)");
  });

  it("when the config file is bad, naming it", async () => {
    w = await world();
    const config = join(w.root, "bad.json");
    await writeFile(config, JSON.stringify({ allowImages: "tormr/python" }));
    expect(await w.run(...START, "--config", config, "--yes")).toBe(3);
    expect(lastError()?.msg).toBe(
      `tormr-worker: config ${config}: allowImages: expected a list of image names, e.g. ["tormr/python"], got "tormr/python"`,
    );
  });

  it("when another live worker uses the work folder", async () => {
    w = await world();
    await mkdir(w.workDir, { recursive: true });
    const other = initialStatus({
      pid: process.ppid,
      jobHost: JOB_HOST,
      pseudonym: "x",
      sandbox: "docker",
      slots: 1,
      now: new Date(),
    });
    await writeStatus(w.workDir, other);
    expect(await w.run(...START, "--yes")).toBe(3);
    expect(String(lastError()?.msg)).toContain(
      `another tormr-worker (pid ${process.ppid}) runs in`,
    );
  });
});

describe("before joining, the volunteer sees the job", () => {
  it("on a terminal: id, digest, image and commands, then a question", async () => {
    w = await world({ tty: true, stdinTTY: true });
    const running = w.run(...START);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(w.stderr.text).toContain("Job job_abc_0001 asks to run on this worker:");
    expect(w.stderr.text).toContain(`code     sha256:${"ab".repeat(32)} (2.0 KiB)`);
    expect(w.stderr.text).toContain("image    tormr/python:0123456789abcdef");
    expect(w.stderr.text).toContain("mapper   python3 mapper.py");
    expect(w.stderr.text).toContain("reducer  python3 reducer.py");
    expect(w.stderr.text).toContain("Join this job? [y/N] ");
    w.stdin.write("y\n");
    expect(await running).toBe(0);
    expect(w.stderr.text).toContain("Joined job job_abc_0001 as");
    expect(w.stderr.text).not.toContain("requester-secret");
  });

  it("saying no refuses the job (exit 6)", async () => {
    w = await world({ tty: true, stdinTTY: true });
    const running = w.run(...START);
    await new Promise((resolve) => setTimeout(resolve, 50));
    w.stdin.write("n\n");
    expect(await running).toBe(6);
    expect(w.stderr.text).toContain("tormr-worker: you declined job job_abc_0001; nothing was run");
  });

  it("an image off the allow-list is refused before the question (exit 6)", async () => {
    const loop: FakeLoop = async (o) => {
      await o.beforeJoin?.(fakeJob({ image: "evil/miner" }));
      throw new Error("joined anyway");
    };
    w = await world({ loop, tty: true, stdinTTY: true });
    expect(await w.run(...START)).toBe(6);
    expect(w.stderr.text).toContain(
      "tormr-worker: job image 'evil/miner' is not on this worker's allow-list (tormr/python, tormr/node); " +
        `add it to allowImages in ${join(w.configDir, "config.json")} to run it`,
    );
    expect(w.stderr.text).not.toContain("Join this job?");
  });

  it("terminal escapes from the job host are shown harmless", async () => {
    const loop: FakeLoop = async (o) => {
      await joinLike(
        o,
        fakeJob({ task: { kind: "streaming", mapper: "cat\u001b]0;pwned\u0007" } }),
      );
      return { reason: "x", succeeded: 0, failed: 0 };
    };
    expect(await start({ loop, tty: true }, "--yes")).toBe(0);
    expect(w.stderr.text).toContain("mapper   cat\\u{1b}]0;pwned\\u{7}");
    expect(w.stderr.text).not.toContain("\u0007");
  });
});

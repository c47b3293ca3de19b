// `tormr-worker start` while the loop runs: status.json, JSON logs, the live line, stopping, failures.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { WorkerApiError } from "@tormr/protocol/worker-client";
import { afterEach, describe, expect, it } from "vitest";
import { readStatus } from "../src/status-file.ts";
import {
  type FakeLoop,
  JOB_HOST,
  joinLike,
  statusIs,
  TICKET,
  untilStopped,
  type World,
  waitFor,
  world,
} from "./cli-helpers.ts";

let w: World;
afterEach(() => w?.cleanup());

const START = ["start", "--job-host", JOB_HOST, "--ticket", TICKET];

describe("while running", () => {
  it("keeps status.json current, logs JSON lines, and stops gracefully on SIGTERM", async () => {
    w = await world({ loop: untilStopped });
    const running = w.run(...START, "--yes");
    await waitFor(statusIs(w.workDir, "running"));
    expect(await readStatus(w.workDir)).toMatchObject({
      pid: process.pid,
      jobId: "job_abc_0001",
      jobHost: JOB_HOST,
      running: [{ attemptId: "a1", task: "m0", status: "mapping" }],
    });
    w.signals.emit("SIGTERM");
    expect(await running).toBe(0);
    expect(await readStatus(w.workDir)).toMatchObject({
      state: "left",
      reason: "stopped",
      running: [],
      counts: { returned: 1, succeeded: 0 },
    });
    const lines = w.stderr.json();
    expect(lines.map((line) => line.event).filter(Boolean)).toEqual([
      "job",
      "joined",
      "task-started",
      "task-status",
      "task-finished",
      "left",
    ]);
    expect(lines.find((line) => line.signal === "SIGTERM")?.msg).toBe(
      "SIGTERM: handing running tasks back, then leaving",
    );
    expect(lines.find((line) => line.event === "job")).toMatchObject({
      jobId: "job_abc_0001",
      codeDigest: "ab".repeat(32),
      image: "tormr/python:0123456789abcdef",
      commands: { mapper: "python3 mapper.py", reducer: "python3 reducer.py" },
    });
    expect(w.stderr.text).not.toContain(TICKET);
    expect(w.stderr.text).not.toContain("requester-secret");
    const identity = JSON.parse(await readFile(join(w.configDir, "identity.json"), "utf8"));
    expect(w.stderr.text).not.toContain(identity.signing.privateKey);
    expect(w.exits).toEqual([]);
  });

  it("draws one live line on a terminal", async () => {
    w = await world({ loop: untilStopped, tty: true });
    const running = w.run(...START, "--yes");
    await waitFor(statusIs(w.workDir, "running"));
    expect(w.stderr.text).toContain(
      "\r\u001b[2Kjob_abc_0001 | m0: mapping | done 0, failed 0 | in 0 B, out 0 B",
    );
    w.signals.emit("SIGINT");
    expect(await running).toBe(0);
    expect(w.stderr.text).toContain(
      "SIGINT: handing running tasks back, then leaving (Ctrl-C again quits at once)",
    );
    expect(w.stderr.text).toContain("m0 returned in 0.0 s: handed back: the worker is stopping");
    expect(w.stderr.text).toContain("Left the job: stopped (succeeded 0, failed 0)");
  });

  it("quits at once on a second Ctrl-C", async () => {
    let release = () => {};
    const stubborn: FakeLoop = async (o) => {
      await joinLike(o);
      o.onEvent?.({ type: "task-started", attemptId: "a1", task: "m0", attempt: 0 });
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { reason: "stopped", succeeded: 0, failed: 0 };
    };
    w = await world({ loop: stubborn });
    const running = w.run(...START, "--yes");
    await waitFor(statusIs(w.workDir, "running"));
    w.signals.emit("SIGINT");
    w.signals.emit("SIGTERM");
    expect(w.exits).toEqual([]);
    await waitFor(async () => (await readStatus(w.workDir))?.state === "stopping");
    w.signals.emit("SIGINT");
    expect(w.exits).toEqual([130]);
    release();
    await running;
    expect(w.signals.listenerCount("SIGINT")).toBe(0);
  });

  it.each([
    [
      new WorkerApiError(0, "ERR_UNREACHABLE", "cannot reach the job host at x: ECONNREFUSED"),
      4,
      "tormr-worker: cannot reach the job host at x: ECONNREFUSED; check --job-host and that the job host is up, then try again",
    ],
    [
      new WorkerApiError(503, "ERR_HTTP_503", "the job host answered 503"),
      4,
      "tormr-worker: the job host answered 503; check --job-host",
    ],
    [
      new WorkerApiError(403, "ERR_TICKET", "this ticket was already used"),
      5,
      "tormr-worker: the job host refused: this ticket was already used (ERR_TICKET); ask the requester for a new ticket if it was used",
    ],
    [
      new Error("boom"),
      1,
      "tormr-worker: internal error: boom; this is a bug in tormr-worker, rerun with TORMR_DEBUG=1 for the stack trace",
    ],
  ])("maps a loop failure to its exit code: %s", async (error, code, message) => {
    const loop: FakeLoop = async () => {
      throw error;
    };
    w = await world({ loop });
    expect(await w.run(...START, "--yes")).toBe(code);
    const line = w.stderr.json().find((l) => l.level === 50);
    expect(String(line?.msg)).toContain(message);
    expect(line?.exitCode).toBe(code);
    expect(await readStatus(w.workDir)).toMatchObject({ state: "left" });
  });
});

import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  liveWorkerIn,
  pidAlive,
  readStatus,
  STATUS_FILE,
  StatusFileError,
  statusWriter,
  writeStatus,
} from "./status-file.ts";
import { applyEvent, initialStatus, withoutCredentials } from "./worker-status.ts";

const NOW = new Date("2026-11-25T12:00:00.000Z");
const JOB = { id: "job_abc_0001" } as WorkerJob;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tormr-status-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function fresh(pid = process.pid) {
  return initialStatus({
    pid,
    jobHost: "http://user:secret@127.0.0.1:7311/",
    pseudonym: "P".repeat(43),
    sandbox: "docker",
    slots: 2,
    now: NOW,
  });
}

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  return child.pid as number;
}

describe("status.json", () => {
  it("round-trips, 0600, with no temporary file left behind", async () => {
    const status = fresh();
    await writeStatus(dir, status);
    expect(await readStatus(dir)).toEqual(status);
    expect((await stat(join(dir, STATUS_FILE))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual([STATUS_FILE]);
  });

  it("is absent before any worker ran", async () => {
    expect(await readStatus(dir)).toBeUndefined();
  });

  it("keeps no password of the job host URL", () => {
    expect(fresh().jobHost).toBe("http://127.0.0.1:7311");
    expect(withoutCredentials("not a url")).toBe("(not a URL)");
  });

  it("refuses a file that is not a status, saying to delete it", async () => {
    await writeFile(join(dir, STATUS_FILE), "{");
    await expect(readStatus(dir)).rejects.toThrow(StatusFileError);
    await writeFile(join(dir, STATUS_FILE), JSON.stringify({ version: 1, pid: "x" }));
    await expect(readStatus(dir)).rejects.toThrow(/is not a worker status \(pid: .*delete it/);
  });

  it("folds the loop's events: running tasks, counts, bytes, and why it left", () => {
    let s = fresh();
    const at = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
    s = applyEvent(s, { type: "joined", job: JOB, pseudonym: "Q".repeat(43) }, at(1));
    s = applyEvent(s, { type: "task-started", attemptId: "a1", task: "m0", attempt: 0 }, at(2));
    s = applyEvent(s, { type: "task-started", attemptId: "a2", task: "m1", attempt: 1 }, at(2));
    s = applyEvent(s, { type: "task-status", attemptId: "a2", status: "mapping" }, at(3));
    expect(s.running).toEqual([
      { attemptId: "a1", task: "m0", attempt: 0, startedAt: at(2).toISOString() },
      {
        attemptId: "a2",
        task: "m1",
        attempt: 1,
        status: "mapping",
        startedAt: at(2).toISOString(),
      },
    ]);
    const done = { durationMs: 5, bytesIn: 10, bytesOut: 20 } as const;
    s = applyEvent(
      s,
      { type: "task-finished", attemptId: "a1", task: "m0", outcome: "succeeded", ...done },
      at(4),
    );
    s = applyEvent(
      s,
      { type: "task-finished", attemptId: "a2", task: "m1", outcome: "returned", ...done },
      at(5),
    );
    s = applyEvent(s, { type: "left", reason: "the job is over" }, at(6));
    expect(s).toMatchObject({
      state: "left",
      jobId: "job_abc_0001",
      pseudonym: "Q".repeat(43),
      running: [],
      counts: { succeeded: 1, failed: 0, cancelled: 0, returned: 1 },
      bytesIn: 20,
      bytesOut: 40,
      reason: "the job is over",
      updatedAt: at(6).toISOString(),
    });
  });

  it("is written by statusWriter with the latest status last, however fast events come", async () => {
    const errors: unknown[] = [];
    const writer = statusWriter(dir, (error) => errors.push(error));
    let s = fresh();
    for (let i = 0; i < 50; i++) {
      s = applyEvent(s, { type: "task-status", attemptId: "x", status: `${i}` }, NOW);
      s = { ...s, bytesOut: i };
      writer.update(s);
    }
    await writer.flush();
    expect((await readStatus(dir))?.bytesOut).toBe(49);
    expect(errors).toEqual([]);
    expect(JSON.parse(await readFile(join(dir, STATUS_FILE), "utf8")).bytesOut).toBe(49);
  });
});

describe("whether the worker of a status is alive", () => {
  it("knows a live pid from a dead one", () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(deadPid())).toBe(false);
  });

  it("finds another live worker in the folder, but not a dead or departed one, nor itself", async () => {
    await writeStatus(dir, fresh(process.ppid));
    expect(await liveWorkerIn(dir, process.pid)).toBe(process.ppid);
    expect(await liveWorkerIn(dir, process.ppid)).toBeUndefined();
    await writeStatus(dir, { ...fresh(process.ppid), state: "left" });
    expect(await liveWorkerIn(dir, process.pid)).toBeUndefined();
    await writeStatus(dir, fresh(deadPid()));
    expect(await liveWorkerIn(dir, process.pid)).toBeUndefined();
  });
});

// A job host killed with SIGKILL mid-job and started again: the job finishes from its database, and committed tasks are not redone.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  type HostProcess,
  killAll,
  startHostProcess,
  startWorkerProcess,
  type WorkerProcess,
  waitForJob,
} from "./cluster-helpers.ts";
import {
  fixture,
  jobSpec,
  readParts,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";

let w: Workspace;
let dir: string;
let host: HostProcess | undefined;
const workers: WorkerProcess[] = [];

beforeAll(() => {
  w = workspace(4, 60_000, 13);
  dir = mkdtempSync(join(tmpdir(), "tormr-restart-"));
});
afterAll(async () => {
  await killAll(host, workers);
  rmSync(dir, { recursive: true, force: true });
  w.cleanup();
});

describe("a job host killed mid-job", () => {
  it("resumes the job after a restart; committed tasks keep their single attempt", async () => {
    const state = join(dir, "host");
    host = await startHostProcess(state);
    const port = new URL(host.workerUrl).port;
    const admin = () => adminClient(host as HostProcess);
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "out"),
      // Slow enough that the kill lands with some maps done and others not.
      task: {
        kind: "streaming",
        mapper: "sleep 0.4 && python3 wc_mapper.py",
        reducer: "python3 wc_reducer.py",
      },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 2,
      conf: { "mapreduce.input.fileinputformat.split.maxsize": "20000" },
    });
    const { jobId, tickets } = await admin().createJob(spec, 3);
    for (const [i, ticket] of tickets.entries()) {
      workers.push(await startWorkerProcess(host.workerUrl, ticket, join(dir, `w${i}`), "bwrap"));
    }
    const midway = await waitForJob(admin(), jobId, (s) => s.maps.committed >= 3);
    expect(midway.maps.committed).toBeLessThan(midway.maps.total);
    host.process.kill("SIGKILL");
    await host.exited;
    const before = await (async () => {
      // Read the committed tasks from the database the dead host left, through a new host.
      host = await startHostProcess(state, ["--port", port]);
      return admin().attempts(jobId);
    })();
    const committedBefore = new Set(
      before.filter((a) => a.state === "succeeded").map((a) => a.task),
    );
    expect(committedBefore.size).toBeGreaterThanOrEqual(3);
    const final = await waitForJob(admin(), jobId);
    expect(final.error).toBeNull();
    expect(final.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const after = await admin().attempts(jobId);
    for (const task of committedBefore) {
      const attempts = after.filter((a) => a.task === task);
      expect(
        attempts.filter((a) => a.state === "succeeded"),
        task,
      ).toHaveLength(1);
      // Nothing of a committed task ran after the restart.
      expect(
        attempts.every((a) => before.some((b) => b.id === a.id)),
        task,
      ).toBe(true);
    }
    // The attempts that were running when the host died were re-queued as lost.
    expect(after.some((a) => a.state === "lost" && /restarted/.test(a.error ?? ""))).toBe(true);
    // Every worker saw the job end and left by itself.
    const codes = await Promise.all(workers.map((x) => x.exited));
    expect(codes, workers.map((x) => x.output.slice(-5).join("\n")).join("\n---\n")).toEqual([
      0, 0, 0,
    ]);
  }, 180_000);
});

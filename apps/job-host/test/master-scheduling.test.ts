// Scheduling against real workers plus a scripted one: stragglers run speculatively, a failing worker is removed, reduces wait for maps.
import { sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, privateKeyObject } from "@tormr/crypto/keys";
import { StoreClient } from "@tormr/protocol/store-client";
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { type Assignment, joinStatement } from "@tormr/protocol/worker-api";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import {
  fixture,
  jobSpec,
  readParts,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";
import { collect } from "./store-helpers.ts";

let w: Workspace;
let host: JobHost;
let state: string;

beforeEach(async () => {
  w = workspace(3, 30_000, 17);
  state = mkdtempSync(join(tmpdir(), "tormr-sched-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: {
      heartbeatMs: 200,
      timeoutMs: 60_000,
      pollMs: 300,
      speculativeSlowdown: 2,
      speculativeMinMs: 1_000,
      workerMaxFailures: 2,
    },
  });
}, 60_000);
afterEach(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

/** A worker driven by the test over the real worker API. */
async function scriptedWorker(jobId: string) {
  const [ticket] = await host.master.createTickets(jobId, 1);
  const post = async (path: string, body: object, session?: string) => {
    const res = await fetch(`${host.workerUrl}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(session ? { authorization: `Bearer ${session}` } : {}),
      },
      body: JSON.stringify({ v: PROTOCOL_VERSION, ...body }),
    });
    return (await res.json()) as Record<string, unknown>;
  };
  const identity = { signing: generateKeyPair("Ed25519"), wrapping: generateKeyPair("X25519") };
  const keys = {
    signing: identity.signing.publicKey.toString("base64url"),
    wrapping: identity.wrapping.publicKey.toString("base64url"),
  };
  const { challenge } = (await post("/v1/join/challenge", { ticket })) as { challenge: string };
  const signature = sign(
    null,
    joinStatement(ticket as string, challenge, keys),
    privateKeyObject(identity.signing),
  ).toString("base64url");
  const { session } = (await post("/v1/join", {
    ticket,
    challenge,
    keys,
    signature,
    capabilities: { sandbox: "none", slots: 1, memoryBytes: 1 << 29 },
  })) as { session: string };
  return {
    identity,
    next: () =>
      post("/v1/tasks/next", {}, session) as Promise<{
        state: string;
        task?: Assignment;
        reason?: string;
      }>,
    heartbeat: (id: string) => post(`/v1/attempts/${id}/heartbeat`, {}, session),
    fail: (id: string) =>
      post(
        `/v1/attempts/${id}/result`,
        {
          outcome: "failed",
          error: {
            code: "ERR_TASK_FAILED",
            message: "scripted failure",
            exitCode: 1,
            stderrTail: "boom",
          },
          sandbox: { kind: "none" },
        },
        session,
      ),
  };
}

const wordCount = (output: string) =>
  jobSpec({
    inputs: [w.input],
    output: join(w.dir, output),
    task: {
      kind: "streaming",
      mapper: "sleep 0.2 && python3 wc_mapper.py",
      reducer: "python3 wc_reducer.py",
    },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 2,
    conf: SMALL_SPLITS,
  });

describe("the scheduler", () => {
  it("runs a straggler's task again elsewhere; the first result wins and the straggler's grant is revoked", async () => {
    const spec = wordCount("spec");
    await host.master.createJob(spec);
    const slow = await scriptedWorker(spec.id);
    let taken: Assignment | undefined;
    while (!taken) taken = (await slow.next()).task;
    // The straggler heartbeats but never finishes. The beat in flight is awaited before the host closes.
    let beating: Promise<unknown> = Promise.resolve();
    const beat = setInterval(() => {
      beating = slow.heartbeat((taken as Assignment).attemptId);
    }, 200);
    try {
      await joinWorkers(host, spec.id, 2, state);
      const attempts = await host.db.attempt.findMany({
        where: { job: spec.id, task: taken.type === "map" ? `m${taken.index}` : `r${taken.index}` },
      });
      expect(attempts.find((a) => a.speculative)?.state).toBe("succeeded");
      expect(attempts.find((a) => a.id === taken?.attemptId)?.state).toBe("killed");
      expect(await slow.heartbeat(taken.attemptId)).toMatchObject({ cancel: true });
      const store = new StoreClient({
        baseUrl: taken.exchange.storeUrl,
        identity: slow.identity.signing,
      });
      await expect(
        collect(store.download(taken.exchange.grant, taken.exchange.inputs[0]?.id as string)),
      ).rejects.toMatchObject({ code: "ERR_GRANT_REVOKED" });
      expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    } finally {
      clearInterval(beat);
      await beating;
    }
  }, 120_000);

  it("removes a worker that keeps failing; the job still succeeds on the others", async () => {
    const spec = wordCount("removed");
    await host.master.createJob(spec);
    const bad = await scriptedWorker(spec.id);
    const seen: string[] = [];
    for (let i = 0; i < 100; i++) {
      const next = await bad.next();
      if (next.state === "done") {
        seen.push(`done: ${next.reason}`);
        break;
      }
      if (next.task) {
        seen.push(next.task.attemptId);
        await bad.fail(next.task.attemptId);
      }
    }
    expect(seen).toHaveLength(3);
    expect(seen[2]).toMatch(/removed from the job after repeated failures/);
    const worker = await host.db.worker.findFirstOrThrow({
      where: { job: spec.id, state: "removed" },
    });
    expect(worker.failureRun).toBe(2);
    await joinWorkers(host, spec.id, 2, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    // Reduces started only once every map was committed.
    const attempts = await host.db.attempt.findMany({ where: { job: spec.id } });
    const lastMap = Math.max(
      ...attempts
        .filter((a) => a.task.startsWith("m") && a.state === "succeeded")
        .map((a) => (a.finishedAt as Date).getTime()),
    );
    for (const reduce of attempts.filter((a) => a.task.startsWith("r"))) {
      expect(reduce.startedAt.getTime()).toBeGreaterThanOrEqual(lastMap);
    }
  }, 120_000);
});

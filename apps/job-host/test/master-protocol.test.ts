// Bad worker-protocol input: each gets a clear 4xx naming the problem, and the job is left untouched.
import { sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, privateKeyObject, pseudonymOf } from "@tormr/crypto/keys";
import { StoreClient } from "@tormr/protocol/store-client";
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { type Assignment, joinStatement } from "@tormr/protocol/worker-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import { fixture, jobSpec, type Workspace, workspace } from "./helpers.ts";
import { collect } from "./store-helpers.ts";

let w: Workspace;
let host: JobHost;
let state: string;
let jobId: string;

beforeAll(async () => {
  w = workspace(1, 5_000, 3);
  state = mkdtempSync(join(tmpdir(), "tormr-protocol-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: { heartbeatMs: 200, timeoutMs: 60_000, pollMs: 200 },
  });
  const spec = jobSpec({
    inputs: [w.input],
    output: join(w.dir, "out"),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 1,
  });
  jobId = spec.id;
  await host.master.createJob(spec);
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

async function post(path: string, body: unknown, session?: string) {
  const res = await fetch(`${host.workerUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(session ? { authorization: `Bearer ${session}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const keysOf = (pair: {
  signing: ReturnType<typeof generateKeyPair>;
  wrapping: ReturnType<typeof generateKeyPair>;
}) => ({
  signing: pair.signing.publicKey.toString("base64url"),
  wrapping: pair.wrapping.publicKey.toString("base64url"),
});
const capabilities = { sandbox: "none", slots: 1, memoryBytes: 1 << 29 };

/** Joins as a fresh worker and returns its session. */
async function joinFresh() {
  const [ticket] = await host.master.createTickets(jobId, 1);
  const { body } = await post("/v1/join/challenge", { v: PROTOCOL_VERSION, ticket });
  const challenge = body.challenge as string;
  const identity = { signing: generateKeyPair("Ed25519"), wrapping: generateKeyPair("X25519") };
  const keys = keysOf(identity);
  const signature = sign(
    null,
    joinStatement(ticket as string, challenge, keys),
    privateKeyObject(identity.signing),
  ).toString("base64url");
  const joined = await post("/v1/join", {
    v: PROTOCOL_VERSION,
    ticket,
    challenge,
    keys,
    signature,
    capabilities,
  });
  expect(joined.status).toBe(200);
  return joined.body.session as string;
}

/** Joins and waits for a task; returns the session, the worker's keys and the assignment. */
async function joinWithTask() {
  const [ticket] = await host.master.createTickets(jobId, 1);
  const { body } = await post("/v1/join/challenge", { v: PROTOCOL_VERSION, ticket });
  const identity = { signing: generateKeyPair("Ed25519"), wrapping: generateKeyPair("X25519") };
  const keys = keysOf(identity);
  const signature = sign(
    null,
    joinStatement(ticket as string, body.challenge as string, keys),
    privateKeyObject(identity.signing),
  ).toString("base64url");
  const joined = await post("/v1/join", {
    v: PROTOCOL_VERSION,
    ticket,
    challenge: body.challenge,
    keys,
    signature,
    capabilities,
  });
  const session = joined.body.session as string;
  for (let i = 0; i < 50; i++) {
    const next = await post("/v1/tasks/next", { v: PROTOCOL_VERSION }, session);
    if (next.body.task) return { session, identity, task: next.body.task as Assignment };
  }
  throw new Error("no task was assigned");
}

async function snapshot() {
  return {
    job: await host.db.job.findUniqueOrThrow({
      where: { id: jobId },
      select: { state: true, error: true },
    }),
    tasks: await host.db.task.findMany({ where: { job: jobId }, orderBy: { name: "asc" } }),
  };
}

describe("grants", () => {
  it("a worker asking the store for a bucket outside its grant is refused, and the ledger shows only its own", async () => {
    const { session, identity, task } = await joinWithTask();
    const store = new StoreClient({ baseUrl: task.exchange.storeUrl, identity: identity.signing });
    const own = task.exchange.inputs[0]?.id as string;
    const bytes = await collect(store.download(task.exchange.grant, own));
    expect(bytes.length).toBeGreaterThan(0);
    // Another task's split, a made-up bucket, and a write outside its prefix.
    const other = own.replace(/\/split\/\d+\//, "/split/999/");
    await expect(collect(store.download(task.exchange.grant, other))).rejects.toMatchObject({
      status: 403,
    });
    await expect(
      store.put(task.exchange.grant, `j/${jobId}/r/0/0/out`, [Buffer.from("x")], { records: 1 }),
    ).rejects.toMatchObject({ status: 403 });
    await host.store.settled();
    const pseudonym = pseudonymOf(identity.signing.publicKey);
    const ledger = await host.db.exposure.findMany({ where: { job: jobId, pseudonym } });
    expect(ledger.map((row) => row.bucket)).toEqual([own]);
    await post(
      `/v1/attempts/${task.attemptId}/result`,
      { v: PROTOCOL_VERSION, outcome: "returned" },
      session,
    );
  });
});

describe("the worker API refuses bad input", () => {
  it("malformed messages: not JSON, missing fields, a wrong protocol version", async () => {
    const before = await snapshot();
    const notJson = await post("/v1/join/challenge", "{nope");
    expect(notJson).toMatchObject({
      status: 400,
      body: { code: "ERR_BAD_MESSAGE", message: "the body is not JSON" },
    });
    const missing = await post("/v1/join/challenge", { v: PROTOCOL_VERSION });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/ticket/);
    const version = await post("/v1/join/challenge", { v: 99, ticket: "x".repeat(43) });
    expect(version).toMatchObject({ status: 400, body: { code: "ERR_PROTOCOL_VERSION" } });
    expect(version.body.message).toMatch(new RegExp(`version 99.*version ${PROTOCOL_VERSION}`));
    expect(await snapshot()).toEqual(before);
  });

  it("an unknown or reused ticket, and a bad challenge signature", async () => {
    const unknown = await post("/v1/join/challenge", {
      v: PROTOCOL_VERSION,
      ticket: "A".repeat(43),
    });
    expect(unknown).toMatchObject({ status: 403, body: { code: "ERR_TICKET" } });

    const [ticket] = await host.master.createTickets(jobId, 1);
    const { body } = await post("/v1/join/challenge", { v: PROTOCOL_VERSION, ticket });
    const identity = { signing: generateKeyPair("Ed25519"), wrapping: generateKeyPair("X25519") };
    const keys = keysOf(identity);
    const other = generateKeyPair("Ed25519");
    const forged = sign(
      null,
      joinStatement(ticket as string, body.challenge as string, keys),
      privateKeyObject(other),
    ).toString("base64url");
    const bad = await post("/v1/join", {
      v: PROTOCOL_VERSION,
      ticket,
      challenge: body.challenge,
      keys,
      signature: forged,
      capabilities,
    });
    expect(bad).toMatchObject({ status: 403, body: { code: "ERR_SIGNATURE" } });
    expect(await host.db.worker.count({ where: { signingKey: keys.signing } })).toBe(0);
    // The ticket survives a failed join, and works once.
    const real = sign(
      null,
      joinStatement(ticket as string, body.challenge as string, keys),
      privateKeyObject(identity.signing),
    ).toString("base64url");
    expect(
      (
        await post("/v1/join", {
          v: PROTOCOL_VERSION,
          ticket,
          challenge: body.challenge,
          keys,
          signature: real,
          capabilities,
        })
      ).status,
    ).toBe(200);
    const again = await post("/v1/join/challenge", { v: PROTOCOL_VERSION, ticket });
    expect(again).toMatchObject({ status: 403, body: { code: "ERR_TICKET" } });
  });

  it("no session, an unknown attempt, and a result for another worker's attempt", async () => {
    expect(await post("/v1/tasks/next", { v: PROTOCOL_VERSION })).toMatchObject({
      status: 401,
      body: { code: "ERR_SESSION" },
    });
    const a = await joinFresh();
    const b = await joinFresh();
    const unknown = await post("/v1/attempts/nosuchattempt/heartbeat", { v: PROTOCOL_VERSION }, a);
    expect(unknown).toMatchObject({ status: 404, body: { code: "ERR_UNKNOWN_ATTEMPT" } });
    let task: { attemptId: string } | undefined;
    for (let i = 0; i < 50 && !task; i++) {
      const next = await post("/v1/tasks/next", { v: PROTOCOL_VERSION }, a);
      task = (next.body.task as { attemptId: string } | undefined) ?? undefined;
    }
    if (!task) throw new Error("no task was assigned");
    const before = await snapshot();
    const theirs = await post(
      `/v1/attempts/${task.attemptId}/result`,
      { v: PROTOCOL_VERSION, outcome: "returned" },
      b,
    );
    expect(theirs).toMatchObject({ status: 403, body: { code: "ERR_NOT_YOUR_ATTEMPT" } });
    const malformed = await post(
      `/v1/attempts/${task.attemptId}/result`,
      { v: PROTOCOL_VERSION, outcome: "succeeded", outputs: "no" },
      a,
    );
    expect(malformed).toMatchObject({ status: 400, body: { code: "ERR_BAD_MESSAGE" } });
    expect(await snapshot()).toEqual(before);
    // A success naming buckets it never stored fails the attempt, not the job.
    const lie = await post(
      `/v1/attempts/${task.attemptId}/result`,
      {
        v: PROTOCOL_VERSION,
        outcome: "succeeded",
        outputs: [],
        counters: {},
        outputRecords: 0,
        sandbox: { kind: "none" },
      },
      a,
    );
    expect(lie).toMatchObject({ status: 422, body: { code: "ERR_BAD_RESULT" } });
    expect((await snapshot()).job.state).not.toBe("failed");
    const over = await post(
      `/v1/attempts/${task.attemptId}/result`,
      { v: PROTOCOL_VERSION, outcome: "returned" },
      a,
    );
    expect(over).toMatchObject({ status: 409, body: { code: "ERR_ATTEMPT_OVER" } });
  });

  it("unknown endpoints and code bundles", async () => {
    const session = await joinFresh();
    expect(await post("/v1/nothing", { v: PROTOCOL_VERSION }, session)).toMatchObject({
      status: 404,
      body: { code: "ERR_NOT_FOUND" },
    });
    const code = await fetch(`${host.workerUrl}/v1/code/${"0".repeat(64)}`, {
      headers: { authorization: `Bearer ${session}` },
    });
    expect(code.status).toBe(404);
  });
});

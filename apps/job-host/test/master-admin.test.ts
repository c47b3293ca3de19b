// The admin API: the secret and the Host header guard it, bad jobs get a 400 naming the field, and jobs can be watched, cancelled and collected.
import { createHash, randomBytes, sign } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, privateKeyObject } from "@tormr/crypto/keys";
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { joinStatement } from "@tormr/protocol/worker-api";
import { generateClientAuthKeyPair } from "@tormr/tor/control/client-auth";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import {
  fixture,
  jobSpec,
  sortedLines,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

let w: Workspace;
let host: JobHost;
let state: string;

beforeAll(async () => {
  w = workspace(2, 10_000, 61);
  state = mkdtempSync(join(tmpdir(), "tormr-admin-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: { heartbeatMs: 200, timeoutMs: 5_000, pollMs: 300 },
  });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

async function admin(method: string, path: string, body?: unknown, secret = host.adminSecret) {
  const res = await fetch(`${host.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: res.status, body: json };
}

const wordCount = (output: string) =>
  jobSpec({
    inputs: [w.input],
    output: join(w.dir, output),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 2,
  });

describe("the admin API", () => {
  it("refuses a missing or wrong secret (401) and a foreign Host header (421)", async () => {
    expect((await admin("GET", "/admin/jobs", undefined, "")).status).toBe(401);
    expect(await admin("GET", "/admin/jobs", undefined, "x".repeat(43))).toMatchObject({
      status: 401,
      body: { code: "ERR_ADMIN_SECRET" },
    });
    // A page in a browser that rebinds its own name to 127.0.0.1 sends its own Host.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(host.adminUrl, {
        path: "/admin/jobs",
        headers: { host: "evil.example:80", authorization: `Bearer ${host.adminSecret}` },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it("refuses bad jobs with a 400 naming the problem, and creates nothing", async () => {
    const notJson = await admin("POST", "/admin/jobs", "{");
    expect(notJson).toMatchObject({ status: 400, body: { code: "ERR_BAD_MESSAGE" } });
    const badSpec = await admin("POST", "/admin/jobs", {
      spec: { ...wordCount("x"), numReduceTasks: -1 },
    });
    expect(badSpec.status).toBe(400);
    expect(badSpec.body.message).toMatch(/numReduceTasks/);
    const missing = await admin("POST", "/admin/jobs", {
      spec: { ...wordCount("y"), inputs: [join(w.dir, "nowhere")] },
    });
    expect(missing).toMatchObject({ status: 400, body: { code: "ERR_INPUT_MISSING" } });
    const tickets = await admin("POST", "/admin/jobs", { spec: wordCount("z"), tickets: -3 });
    expect(tickets.status).toBe(400);
    expect((await admin("GET", "/admin/jobs")).body.jobs).toEqual([]);
    expect(await admin("GET", "/admin/jobs/job_none_0001")).toMatchObject({
      status: 404,
      body: { code: "ERR_NO_JOB" },
    });
  });

  it("creates a job with tickets, shows its attempts, and serves its output once it succeeded", async () => {
    const spec = wordCount("served");
    const created = await admin("POST", "/admin/jobs", { spec, tickets: 2 });
    expect(created.status).toBe(201);
    expect(created.body.tickets).toHaveLength(2);
    const early = await admin("GET", `/admin/jobs/${spec.id}/output`);
    expect(early).toMatchObject({ status: 400, body: { code: "ERR_JOB" } });
    await joinWorkers(host, spec.id, 2, state);
    const status = await admin("GET", `/admin/jobs/${spec.id}`);
    expect(status.body).toMatchObject({
      state: "succeeded",
      error: null,
      reduces: { total: 2, committed: 2 },
    });
    const attempts = (await admin("GET", `/admin/jobs/${spec.id}/tasks`)).body.attempts as {
      task: string;
      state: string;
      sandbox: string;
    }[];
    // Every task succeeded once; on a loaded machine a speculative copy may also have run and
    // been killed when the first finished, which is the scheduler doing its job.
    const tasks = new Set(attempts.map((a) => a.task));
    for (const task of tasks) {
      expect(attempts.filter((a) => a.task === task && a.state === "succeeded")).toHaveLength(1);
    }
    expect(attempts.filter((a) => !["succeeded", "killed"].includes(a.state))).toEqual([]);
    expect(attempts.every((a) => a.sandbox === "none")).toBe(true);
    const { body } = await admin("GET", `/admin/jobs/${spec.id}/output`);
    expect(body.parts).toEqual(["part-00000", "part-00001"]);
    const parts: Buffer[] = [];
    for (const part of body.parts as string[]) {
      const res = await fetch(`${host.adminUrl}/admin/jobs/${spec.id}/output/${part}`, {
        headers: { authorization: `Bearer ${host.adminSecret}` },
      });
      parts.push(Buffer.from(await res.arrayBuffer()));
    }
    expect(sortedLines(Buffer.concat(parts))).toEqual(wordCountOracle(w.input));
    expect((await admin("GET", `/admin/jobs/${spec.id}/output/..%2Fspec`)).status).toBe(404);
  }, 120_000);

  it("cancels a running job: its output folder goes and its workers are told it is over", async () => {
    const spec = wordCount("cancelled");
    await admin("POST", "/admin/jobs", { spec });
    const cancelled = await admin("POST", `/admin/jobs/${spec.id}/cancel`);
    expect(cancelled.body).toMatchObject({ state: "cancelled" });
    const summaries = await joinWorkers(host, spec.id, 1, state).catch((error: Error) => error);
    expect(summaries).toBeInstanceOf(Array);
    expect((summaries as { reason: string }[])[0]?.reason).toMatch(/cancelled/);
  });

  it("admits the ticket hashes a board handed out, once each, and only for their worker's key", async () => {
    const spec = wordCount("out-board");
    expect((await admin("POST", "/admin/jobs", { spec, tickets: 0 })).status).toBe(201);
    const ticket = randomBytes(32).toString("base64url");
    const hash = createHash("sha256").update(ticket).digest("hex");
    const key = generateClientAuthKeyPair().publicKey;
    const body = { ticketHashes: [{ hash, clientAuthKey: key }] };
    expect(await admin("POST", `/admin/jobs/${spec.id}/tickets`, body)).toMatchObject({
      status: 201,
      body: { admitted: 1 },
    });
    // Asking the board twice admits nobody twice.
    expect((await admin("POST", `/admin/jobs/${spec.id}/tickets`, body)).body).toEqual({
      admitted: 0,
    });
    expect(
      await admin("POST", `/admin/jobs/${spec.id}/tickets`, {
        ticketHashes: [{ hash: "xyz", clientAuthKey: key }],
      }),
    ).toMatchObject({ status: 400 });
    // The ticket works for a worker that joins with that key, and for no other.
    const identity = { signing: generateKeyPair("Ed25519"), wrapping: generateKeyPair("X25519") };
    const keys = {
      signing: identity.signing.publicKey.toString("base64url"),
      wrapping: identity.wrapping.publicKey.toString("base64url"),
    };
    const join = async (clientAuth: string) => {
      const { challenge } = await host.master.challenge(ticket);
      return host.master.join({
        v: PROTOCOL_VERSION,
        ticket,
        challenge,
        keys,
        clientAuth,
        signature: sign(
          null,
          joinStatement(ticket, challenge, keys, clientAuth),
          privateKeyObject(identity.signing),
        ).toString("base64url"),
        capabilities: { sandbox: "none", slots: 1, memoryBytes: 1 << 30 },
      });
    };
    await expect(join(generateClientAuthKeyPair().publicKey)).rejects.toMatchObject({
      code: "ERR_TICKET",
      message: "this join ticket was made for another worker's Tor client-authorization key",
    });
    await expect(join(key)).resolves.toMatchObject({ job: { id: spec.id } });
    // Cancelled once its splits are sealed, so nothing still writes when the suite's folder goes.
    while ((await admin("GET", `/admin/jobs/${spec.id}`)).body.state === "preparing") {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await admin("POST", `/admin/jobs/${spec.id}/cancel`);
  });
});

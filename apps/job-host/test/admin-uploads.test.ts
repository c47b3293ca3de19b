// Uploads, specs and exposure through the admin API and its client: a job run from uploaded files, uploads that end early or pass the quota leave nothing, and the ledger says who saw how much.
import {
  createReadStream,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { C, TASK_GROUP } from "@tormr/mapreduce/counters";
import { parseJobSpec } from "@tormr/mapreduce/job-spec";
import { AdminClient } from "@tormr/protocol/admin-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import {
  fixture,
  inputFiles,
  sortedLines,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

const QUOTA = 64 * 1024;
let w: Workspace;
let state: string;
let host: JobHost;
let quotaHost: JobHost;
let client: AdminClient;
let quotaClient: AdminClient;

const clientOf = (h: JobHost) =>
  new AdminClient({ adminUrl: h.adminUrl, workerUrl: h.workerUrl, secret: h.adminSecret });

beforeAll(async () => {
  w = workspace(2, 20_000, 81);
  state = mkdtempSync(join(tmpdir(), "tormr-uploads-"));
  const settings = { heartbeatMs: 200, timeoutMs: 5_000, pollMs: 300 };
  host = await startJobHost({ stateDir: join(state, "host"), settings });
  quotaHost = await startJobHost({
    stateDir: join(state, "quota"),
    settings,
    jobQuotaBytes: QUOTA,
  });
  client = clientOf(host);
  quotaClient = clientOf(quotaHost);
}, 60_000);
afterAll(async () => {
  await host?.close();
  await quotaHost?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

let sequence = 0;
const newJobId = () => `job_202612020000_${String(++sequence).padStart(4, "0")}`;
const uploadsOf = (h: JobHost, jobId: string, role: string) =>
  join(h === host ? join(state, "host") : join(state, "quota"), "uploads", jobId, role);
const list = (folder: string) => readdirSync(folder).sort();

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const once = (text: string) => Readable.from([Buffer.from(text)]);

async function* chunks(count: number, size: number) {
  for (let i = 0; i < count; i++) yield Buffer.alloc(size, 97 + (i % 26));
}

/** Lines and bytes as the job sees them: a file without a final newline gets one. */
function inputShape(files: string[]) {
  let records = 0;
  let bytes = 0;
  for (const file of files) {
    const data = readFileSync(file);
    const open = data.length > 0 && data[data.length - 1] !== 10;
    records += data.toString("latin1").split("\n").length - 1 + (open ? 1 : 0);
    bytes += data.length + (open ? 1 : 0);
  }
  return { records, bytes };
}

describe("uploads through the admin API", () => {
  it("runs a job from two uploaded inputs and an executable -file to the oracle's output, and says who saw what", async () => {
    const jobId = newJobId();
    const inputs = inputFiles(w.input);
    const uploaded = [];
    for (const file of inputs) {
      uploaded.push(await client.upload(jobId, "input", basename(file), createReadStream(file)));
    }
    for (const [i, file] of inputs.entries()) {
      expect(uploaded[i]).toEqual({
        path: join(uploadsOf(host, jobId, "input"), basename(file)),
        bytes: statSync(file).size,
      });
      expect(readFileSync(uploaded[i]?.path ?? "")).toEqual(readFileSync(file));
    }
    // Run by name, so the engine itself insists on the mode the upload gave it.
    const mapper = await client.upload(
      jobId,
      "file",
      "wc_mapper.py",
      createReadStream(fixture("wc_mapper.py")),
      { executable: true },
    );
    const reducer = await client.upload(
      jobId,
      "file",
      "wc_reducer.py",
      createReadStream(fixture("wc_reducer.py")),
    );
    expect(statSync(mapper.path).mode & 0o777).toBe(0o755);
    expect(statSync(reducer.path).mode & 0o777).toBe(0o644);
    const spec = parseJobSpec({
      id: jobId,
      inputs: uploaded.map((u) => u.path),
      output: join(w.dir, "out-uploaded"),
      task: { kind: "streaming", mapper: "wc_mapper.py", reducer: "python3 wc_reducer.py" },
      files: [mapper.path, reducer.path],
      numReduceTasks: 2,
    });
    expect(await client.createJob({ spec })).toEqual({ jobId, tickets: [] });
    // The host keeps the spec as it runs it (its compression setting filled in).
    const { conf: _conf, ...given } = spec;
    expect(await client.spec(jobId)).toMatchObject(given);
    await expect(
      client.upload(jobId, "input", "late.txt", once("too late\n")),
    ).rejects.toMatchObject({
      status: 409,
      code: "ERR_UPLOADS_CLOSED",
      message: expect.stringMatching(
        new RegExp(
          `^job ${jobId} was already submitted \\(it is (preparing|running)\\); its files can no longer change: start a new job$`,
        ),
      ),
    });
    expect(list(uploadsOf(host, jobId, "input"))).toEqual(inputs.map((f) => basename(f)));

    // Sealed and waiting for workers: the split buckets count, nobody has read anything.
    await until(
      "the splits to be sealed",
      async () => (await client.status(jobId)).state === "running",
    );
    const shape = inputShape(inputs);
    expect(await client.exposure(jobId)).toEqual({
      input: shape,
      mapOutput: { records: 0, bytes: 0 },
      workers: [],
      cap: null,
      collusion: 1,
      reached: {
        input: { maxShare: 0, maxUnionShare: 0 },
        mapOutput: { maxShare: 0, maxUnionShare: 0 },
      },
    });

    await joinWorkers(host, jobId, 2, state);
    const status = await client.status(jobId);
    expect(status).toMatchObject({ state: "succeeded", reduces: { total: 2, committed: 2 } });
    const parts = await client.outputParts(jobId);
    expect(parts).toEqual(["part-00000", "part-00001"]);
    const bytes: Buffer[] = [];
    for (const part of parts) {
      const { body, size } = await client.outputPart(jobId, part);
      bytes.push(Buffer.from(await new Response(body).arrayBuffer()));
      expect(bytes.at(-1)?.length).toBe(size);
    }
    expect(sortedLines(Buffer.concat(bytes))).toEqual(wordCountOracle(w.input));

    // Every answer the console reads parses with its schema.
    const attempts = await client.attempts(jobId);
    expect(attempts.filter((a) => a.state === "succeeded")).toHaveLength(3);
    expect((await client.jobs()).map((j) => j.id)).toContain(jobId);

    // Kept when the job ended, before its buckets went: still plaintext records and bytes.
    const exposure = await client.exposure(jobId);
    const counters = status.counters[TASK_GROUP] ?? {};
    expect(exposure.input).toEqual(shape);
    expect(exposure.input.records).toBe(counters[C.mapInputRecords]);
    // No combiner: what the maps emitted is what the reducers read.
    expect(exposure.mapOutput.records).toBe(counters[C.mapOutputRecords]);
    expect(exposure.workers.map((x) => x.pseudonym)).toEqual(
      status.workers.map((x) => x.pseudonym).sort(),
    );
    for (const kind of ["input", "mapOutput"] as const) {
      const total = exposure[kind];
      let records = 0;
      let sealed = 0;
      for (const worker of exposure.workers) {
        expect(worker[kind].records).toBeLessThanOrEqual(total.records);
        expect(worker[kind].bytes).toBeLessThanOrEqual(total.bytes);
        records += worker[kind].records;
        sealed += worker[kind].bytes;
      }
      expect(records).toBeGreaterThanOrEqual(total.records);
      expect(sealed).toBeGreaterThanOrEqual(total.bytes);
    }
    await expect(client.upload(jobId, "file", "x.py", once("x"))).rejects.toMatchObject({
      status: 409,
      message: `job ${jobId} was already submitted (it is succeeded); its files can no longer change: start a new job`,
    });
  }, 120_000);

  it("keeps nothing of an upload cut off mid-way, and the earlier file of that name stays", async () => {
    const jobId = newJobId();
    const first = await client.upload(jobId, "input", "data.txt", once("complete\n"));
    const folder = dirname(first.path);
    const temporary = () => list(folder).some((name) => name.startsWith("."));
    // Half a body, then the socket goes.
    const req = request(`${host.adminUrl}/admin/jobs/${jobId}/uploads/input/data.txt`, {
      method: "PUT",
      headers: { authorization: `Bearer ${host.adminSecret}`, "transfer-encoding": "chunked" },
    });
    req.on("error", () => {});
    req.write(Buffer.alloc(64 * 1024, 120));
    await until("the upload to start", temporary);
    req.destroy();
    await until("the temporary file to go", () => !temporary());
    expect(list(folder)).toEqual(["data.txt"]);
    expect(readFileSync(first.path, "utf8")).toBe("complete\n");

    // The client's own abort does the same.
    const controller = new AbortController();
    async function* body() {
      yield Buffer.alloc(16 * 1024, 121);
      await until("the upload to start", temporary);
      controller.abort();
      yield Buffer.alloc(16 * 1024, 121);
    }
    await expect(
      client.upload(jobId, "input", "data.txt", body(), { signal: controller.signal }),
    ).rejects.toMatchObject({ name: "AbortError" });
    await until("the temporary file to go", () => !temporary());
    expect(list(folder)).toEqual(["data.txt"]);
    expect(readFileSync(first.path, "utf8")).toBe("complete\n");
  });

  it("refuses bad job ids, roles, names and flags with a 400 naming the value, and keeps nothing", async () => {
    const body = () => once("x\n");
    const refused: string[] = [];
    const refusals = [
      ["job_bad", "input", "a.txt", /job id "job_bad" must look like job_<stamp>_<seq>/],
      [newJobId(), "input", ".hidden", /file name "\.hidden": expected a file name/],
      [newJobId(), "input", "a/b", /file name "a%2Fb"/],
      [newJobId(), "file", "x".repeat(129), /file name "x{80}…"/],
      [newJobId(), "file", "", /no such endpoint|file name ""/],
    ] as const;
    for (const [jobId, role, name, message] of refusals) {
      if (jobId !== "job_bad") refused.push(jobId);
      const error = await client.upload(jobId, role, name, body()).catch((e: unknown) => e);
      expect(error, `${jobId} ${role} ${name}`).toMatchObject({
        message: expect.stringMatching(message),
      });
      expect((error as { status: number }).status).toBeLessThan(500);
    }
    const raw = async (path: string) => {
      const res = await fetch(`${host.adminUrl}${path}`, {
        method: "PUT",
        headers: { authorization: `Bearer ${host.adminSecret}` },
        body: "x",
      });
      return { status: res.status, body: (await res.json()) as { code: string; message: string } };
    };
    const id = newJobId();
    refused.push(id);
    expect(await raw(`/admin/jobs/${id}/uploads/other/a.txt`)).toMatchObject({
      status: 400,
      body: { code: "ERR_BAD_MESSAGE", message: 'upload role "other" must be input or file' },
    });
    expect(await raw(`/admin/jobs/${id}/uploads/file/m.sh?executable=yes`)).toMatchObject({
      status: 400,
      body: { code: "ERR_BAD_MESSAGE", message: 'executable="yes": expected 1 or 0' },
    });
    expect((await raw(`/admin/jobs/${id}/uploads/input/a/b`)).status).toBe(404);
    for (const jobId of refused)
      expect(existsSync(join(state, "host", "uploads", jobId))).toBe(false);
  });

  it("refuses an upload that would pass the job quota (413) and keeps nothing of it", async () => {
    const jobId = newJobId();
    const folder = uploadsOf(quotaHost, jobId, "input");
    const first = await quotaClient.upload(jobId, "input", "a.txt", chunks(10, 4096));
    expect(first.bytes).toBe(40_960);
    // Streamed: refused once the bytes pass the quota.
    await expect(
      quotaClient.upload(jobId, "input", "b.txt", chunks(10, 4096)),
    ).rejects.toMatchObject({
      status: 413,
      code: "ERR_TOO_LARGE",
      message: `job ${jobId}'s uploads would pass this job host's quota of ${QUOTA} bytes; input b.txt was not kept`,
    });
    expect(list(folder)).toEqual(["a.txt"]);
    // With a length: refused before a byte is read.
    const declared = await fetch(`${quotaHost.adminUrl}/admin/jobs/${jobId}/uploads/file/c.py`, {
      method: "PUT",
      headers: { authorization: `Bearer ${quotaHost.adminSecret}` },
      body: Buffer.alloc(40_000),
    });
    expect(declared.status).toBe(413);
    expect(list(dirname(folder))).toEqual(["input"]);
    // A file replaced by a new one of its name no longer counts.
    expect((await quotaClient.upload(jobId, "input", "a.txt", chunks(12, 4096))).bytes).toBe(
      49_152,
    );
    expect(list(folder)).toEqual(["a.txt"]);
  });
});

describe("the admin API's job views", () => {
  it("answers 404 for an unknown job's spec and exposure, and for unknown endpoints", async () => {
    for (const call of [() => client.spec("job_1_9999"), () => client.exposure("job_1_9999")]) {
      await expect(call()).rejects.toMatchObject({ status: 404, code: "ERR_NO_JOB" });
    }
    for (const path of [
      "/admin/jobs/job_1_9999/nothing",
      "/admin/jobs/job_1_9999/spec/x",
      "/admin/x",
    ]) {
      const res = await fetch(`${host.adminUrl}${path}`, {
        headers: { authorization: `Bearer ${host.adminSecret}` },
      });
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ code: "ERR_NOT_FOUND" });
    }
  });

  it("says the host does not answer when nothing listens at its URL", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const adminUrl = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
    const gone = new AdminClient({ adminUrl, workerUrl: host.workerUrl, secret: "x" });
    await expect(gone.jobs()).rejects.toMatchObject({
      code: "ERR_HOST_UNREACHABLE",
      message: `the job host at ${adminUrl} does not answer; is tormr host running?`,
    });
  });
});

// Signed provenance (#8): a real job by real workers leaves a _PROVENANCE.json that `tormr verify` checks; tampering is caught; a badly signed result is refused.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import { type Provenance, provenanceSchema } from "@tormr/protocol/provenance";
import { shortPseudonym } from "@tormr/protocol/provenance-check";
import type { Assignment } from "@tormr/protocol/worker-api";
import { WorkerApiError, WorkerClient } from "@tormr/protocol/worker-client";
import { type AssignmentResult, runAssignment } from "@tormr/task-runner/run-assignment";
import { fetchCode } from "@tormr/worker/work-files";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

const BIN = join(import.meta.dirname, "..", "bin", "tormr.js");

let w: Workspace;
let host: JobHost;
let state: string;

beforeAll(async () => {
  w = workspace(3, 30_000, 23);
  state = mkdtempSync(join(tmpdir(), "tormr-provenance-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: { heartbeatMs: 200, timeoutMs: 60_000, pollMs: 300 },
  });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w?.cleanup();
});

const wordCount = (output: string) =>
  jobSpec({
    inputs: [w.input],
    output: join(w.dir, output),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 2,
    conf: SMALL_SPLITS,
  });

function tormrVerify(dir: string) {
  const result = spawnSync(process.execPath, [BIN, "verify", dir], {
    cwd: tmpdir(),
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Which worker committed each task, from the job host's own database. */
async function committedBy(jobId: string): Promise<Map<string, string>> {
  const attempts = await host.db.attempt.findMany({
    where: { job: jobId, state: "succeeded" },
    select: { task: true, worker: true },
  });
  return new Map(attempts.map((a) => [a.task, a.worker]));
}

/** A fresh copy of the output folder, its provenance record changed by `edit`. */
function tamperedCopy(output: string, edit: (doc: Provenance, dir: string) => void): string {
  const dir = mkdtempSync(join(state, "copy-"));
  cpSync(output, dir, { recursive: true });
  const file = join(dir, "_PROVENANCE.json");
  const doc = provenanceSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  edit(doc, dir);
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return dir;
}

const flip = (text: string) =>
  `${text.slice(0, 10)}${text[10] === "A" ? "B" : "A"}${text.slice(11)}`;

describe("signed provenance", () => {
  let output: string;
  let by: Map<string, string>;
  let jobId: string;

  it("a job run by real workers leaves a _PROVENANCE.json that tormr verify passes, naming each part's worker", async () => {
    const spec = wordCount("out");
    jobId = spec.id;
    output = spec.output;
    await host.master.createJob(spec);
    await joinWorkers(host, spec.id, 3, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("succeeded");
    expect(readParts(output)).toEqual(wordCountOracle(w.input));

    expect(existsSync(join(output, "_PROVENANCE.json"))).toBe(true);
    expect(statSync(join(output, "_PROVENANCE.json")).mtimeMs).toBeLessThanOrEqual(
      statSync(join(output, "_SUCCESS")).mtimeMs,
    );
    const doc = provenanceSchema.parse(
      JSON.parse(readFileSync(join(output, "_PROVENANCE.json"), "utf8")),
    );
    by = await committedBy(spec.id);
    expect(doc.job).toBe(spec.id);
    expect(doc.spec.maps).toBe(job.maps);
    expect(doc.spec.maps).toBeGreaterThan(1);
    expect(doc.tasks.map((t) => t.task).sort()).toEqual([...by.keys()].sort());
    expect(doc.parts.map((p) => [p.file, p.task])).toEqual([
      ["part-00000", "r0"],
      ["part-00001", "r1"],
    ]);
    // The host keeps each committed attempt's statement; the others have none.
    const attempts = await host.db.attempt.findMany({ where: { job: spec.id } });
    for (const a of attempts) expect(a.resultSignature !== null).toBe(a.state === "succeeded");

    const verified = tormrVerify(output);
    expect(verified).toMatchObject({ code: 0, stderr: "" });
    for (const part of doc.parts) {
      const worker = shortPseudonym(by.get(part.task) as string);
      expect(verified.stdout).toMatch(new RegExp(`^${part.task} +${worker} +${part.file}$`, "m"));
    }
    for (let m = 0; m < doc.spec.maps; m++) {
      expect(verified.stdout).toMatch(
        new RegExp(`^m${m} +${shortPseudonym(by.get(`m${m}`) as string)} +-$`, "m"),
      );
    }
    expect(verified.stdout).toMatch(
      /^verified job_\d+_\d+: 2 parts from \d+ tasks by \d+ workers;/m,
    );
  }, 120_000);

  it("one changed byte of a part fails, naming the part and the worker of its reduce", () => {
    const dir = tamperedCopy(output, () => {});
    const part = join(dir, "part-00001");
    const bytes = readFileSync(part);
    bytes[0] = (bytes[0] as number) ^ 1;
    writeFileSync(part, bytes);
    const result = tormrVerify(dir);
    expect(result.code).toBe(5);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      `tormr: part-00001: its bytes do not match the digest the job host recorded (reduce r1 by ${shortPseudonym(by.get("r1") as string)})\n` +
        `tormr: ${dir} does not verify: 1 problem\n`,
    );
  });

  it("a changed signature fails, naming the task and its worker", () => {
    const dir = tamperedCopy(output, (doc) => {
      const m0 = doc.tasks.find((t) => t.task === "m0") as Provenance["tasks"][number];
      m0.signature = flip(m0.signature);
    });
    const result = tormrVerify(dir);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(
      `tormr: m0: signature by ${shortPseudonym(by.get("m0") as string)} does not verify\n`,
    );
  });

  it("a changed input digest, or a task taken out, breaks the chain: each line names the part and the workers", () => {
    const reduceBy = shortPseudonym(by.get("r0") as string);
    const mapBy = shortPseudonym(by.get("m1") as string);
    const changed = tamperedCopy(output, (doc) => {
      const r0 = doc.tasks.find((t) => t.task === "r0") as Provenance["tasks"][number];
      const input = r0.statement.inputs[1] as { digest: string };
      input.digest = input.digest.replace(/^./, (c) => (c === "0" ? "1" : "0"));
    });
    const first = tormrVerify(changed);
    expect(first.code).toBe(5);
    expect(first.stderr).toContain(`tormr: r0: signature by ${reduceBy} does not verify\n`);
    expect(first.stderr).toMatch(
      new RegExp(
        `^tormr: part-00000: reduce r0 by ${reduceBy} read \\S+ \\(SHA-256 [0-9a-f]{12}…\\), not what map m1 by ${mapBy} signed for partition 0`,
        "m",
      ),
    );

    const removed = tamperedCopy(output, (doc) => {
      doc.tasks = doc.tasks.filter((t) => t.task !== "m1");
    });
    const second = tormrVerify(removed);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain("tormr: m1: no signed statement in the provenance\n");
    for (const [part, reduce] of [
      ["part-00000", "r0"],
      ["part-00001", "r1"],
    ] as const) {
      expect(second.stderr).toMatch(
        new RegExp(
          `^tormr: ${part}: reduce ${reduce} by ${shortPseudonym(by.get(reduce) as string)} read \\S+, which no signed statement of map m1 wrote$`,
          "m",
        ),
      );
    }
  });

  it("a part file missing, or one nobody listed, fails", () => {
    const dir = tamperedCopy(output, () => {});
    rmSync(join(dir, "part-00000"));
    writeFileSync(join(dir, "part-00002"), "extra\t1\n");
    const result = tormrVerify(dir);
    expect(result.code).toBe(5);
    expect(result.stderr).toContain(
      `tormr: part-00000: missing from the output folder (reduce r0 by ${shortPseudonym(by.get("r0") as string)})\n`,
    );
    expect(result.stderr).toContain(
      "tormr: part-00002: in the output folder but not in the provenance: nobody vouches for it\n",
    );
    expect(jobId).toMatch(/^job_/);
  });
});

describe("a map-only job", () => {
  it("lists each map as the producer of its part, and verifies", async () => {
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "map-only"),
      task: { kind: "streaming", mapper: "python3 wc_mapper.py" },
      files: [fixture("wc_mapper.py")],
      numReduceTasks: 0,
      conf: SMALL_SPLITS,
    });
    await host.master.createJob(spec);
    await joinWorkers(host, spec.id, 2, state);
    const doc = provenanceSchema.parse(
      JSON.parse(readFileSync(join(spec.output, "_PROVENANCE.json"), "utf8")),
    );
    expect(doc.spec.reduces).toBe(0);
    expect(doc.parts.map((p) => p.task)).toEqual(doc.tasks.map((t) => t.task));
    const by = await committedBy(spec.id);
    const verified = tormrVerify(spec.output);
    expect(verified.code).toBe(0);
    for (const part of doc.parts) {
      const worker = shortPseudonym(by.get(part.task) as string);
      expect(verified.stdout).toMatch(new RegExp(`^${part.task} +${worker} +${part.file}$`, "m"));
    }
  }, 120_000);
});

describe("a result with a bad signature", () => {
  it("is refused at commit with ERR_BAD_RESULT, and the task is retried on another worker", async () => {
    const spec = wordCount("refused");
    await host.master.createJob(spec);
    const [ticket] = await host.master.createTickets(spec.id, 1);
    const { identity } = await loadOrCreateIdentity(join(state, "scripted-worker"));
    const client = new WorkerClient({ baseUrl: host.workerUrl });
    const { challenge, job } = await client.challenge(ticket as string);
    await client.join(ticket as string, challenge, identity, {
      sandbox: "none",
      slots: 1,
      memoryBytes: 1 << 29,
    });
    const workDir = mkdtempSync(join(state, "scripted-"));
    const codeDir = await fetchCode(client, job, workDir);
    /** Takes a task and runs it for real, as a worker would, with this worker's keys. */
    const runNext = async () => {
      let assignment: Assignment | undefined;
      while (!assignment) assignment = (await client.next()).task;
      const taskDir = mkdtempSync(join(workDir, "attempt-"));
      const result = await runAssignment({ job, codeDir, assignment, identity, taskDir });
      if (result.outcome !== "succeeded") throw new Error(result.error.message);
      return { assignment, result };
    };
    const refusal = (attemptId: string, result: AssignmentResult) =>
      client.result(attemptId, result).then(
        () => undefined,
        (error: unknown) => error,
      );

    const forged = await runNext();
    const forgedTask = `${forged.assignment.type === "map" ? "m" : "r"}${forged.assignment.index}`;
    const bad = await refusal(forged.assignment.attemptId, {
      ...forged.result,
      signature: flip(forged.result.signature as string),
    });
    expect(bad).toBeInstanceOf(WorkerApiError);
    expect(bad).toMatchObject({ status: 422, code: "ERR_BAD_RESULT" });
    expect((bad as Error).message).toBe(
      `${forgedTask}: the result's signature does not verify with the signing key worker ${identity.pseudonym} joined with`,
    );

    const unsigned = await runNext();
    const { signature: _, ...withoutSignature } = unsigned.result;
    const missing = await refusal(unsigned.assignment.attemptId, withoutSignature);
    expect(missing).toMatchObject({ status: 422, code: "ERR_BAD_RESULT" });
    expect((missing as Error).message).toMatch(/the result is not signed .*upgrade tormr-worker$/);

    const refused = await host.db.attempt.findMany({
      where: { job: spec.id, worker: identity.pseudonym },
    });
    expect(refused.map((a) => a.state)).toEqual(["failed", "failed"]);
    expect(refused.every((a) => a.resultStatement === null)).toBe(true);
    expect(await host.db.commit.count({ where: { job: spec.id, task: forgedTask } })).toBe(0);

    await client.leave();
    await joinWorkers(host, spec.id, 2, state);
    const done = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(done.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const by = await committedBy(spec.id);
    expect(by.get(forgedTask)).toBeDefined();
    expect(by.get(forgedTask)).not.toBe(identity.pseudonym);
    const verified = tormrVerify(spec.output);
    expect(verified.code).toBe(0);
    expect(verified.stdout).not.toContain(shortPseudonym(identity.pseudonym));
    rmSync(workDir, { recursive: true, force: true });
  }, 120_000);
});

// The master with joined workers over HTTP: word count equals the oracle, and grants keep each worker to its tasks.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

let w: Workspace;
let host: JobHost;
let state: string;
const FAST = { heartbeatMs: 200, timeoutMs: 2_000, pollMs: 500 };

beforeAll(async () => {
  w = workspace(3, 30_000, 5);
  state = mkdtempSync(join(tmpdir(), "tormr-master-"));
  host = await startJobHost({ stateDir: join(state, "host"), settings: FAST });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

describe("a job host with three joined workers", () => {
  it("runs the streaming word count to the oracle's output", async () => {
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "wc"),
      task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 2,
      conf: SMALL_SPLITS,
    });
    await host.master.createJob(spec);
    const received = new Map<string, number>();
    const summaries = await joinWorkers(host, spec.id, 3, state, (pseudonym, event) => {
      if (event.type === "task-finished") {
        received.set(pseudonym, (received.get(pseudonym) ?? 0) + event.bytesIn);
      }
    });
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.error).toBeNull();
    expect(job.state).toBe("succeeded");
    expect(readParts(join(w.dir, "wc"))).toEqual(wordCountOracle(w.input));
    expect(summaries.reduce((s, x) => s + x.succeeded, 0)).toBe(job.maps + job.reduces);
    // The exposure ledger: every bucket a worker read was an input of an attempt it was given.
    const attempts = await host.db.attempt.findMany({ where: { job: spec.id } });
    await host.store.settled();
    const ledger = await host.db.exposure.findMany({ where: { job: spec.id } });
    expect(ledger.length).toBeGreaterThan(0);
    for (const row of ledger) {
      const split = /\/split\/(\d+)\//.exec(row.bucket);
      const partition = /\/m\/\d+\/\d+\/p(\d+)$/.exec(row.bucket);
      const task = split ? `m${split[1]}` : `r${partition?.[1]}`;
      const mine = attempts.filter((a) => a.worker === row.pseudonym).map((a) => a.task);
      expect(mine, `${row.pseudonym} read ${row.bucket}`).toContain(task);
    }
    // What each worker counted in is what the store's ledger says it served that worker.
    for (const [pseudonym, bytes] of received) {
      const served = ledger.filter((row) => row.pseudonym === pseudonym);
      expect(bytes).toBe(served.reduce((sum, row) => sum + Number(row.bytes), 0));
    }
    expect([...received.values()].every((bytes) => bytes > 0)).toBe(true);
    // Intermediate buckets are gone once the job commits.
    expect(await host.db.bucket.count({ where: { job: spec.id } })).toBe(0);
  }, 120_000);
});

describe("a JS job on joined workers", () => {
  it("runs its module as streaming commands and gives the oracle's word count", async () => {
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "wc-js"),
      task: { kind: "js", module: fixture("wordcount.mjs") },
      numReduceTasks: 2,
      conf: SMALL_SPLITS,
    });
    await host.master.createJob(spec);
    await joinWorkers(host, spec.id, 2, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.error).toBeNull();
    expect(readParts(join(w.dir, "wc-js"))).toEqual(wordCountOracle(w.input));
    const shipped = JSON.parse(job.workerJob) as { task: { mapper: string }; image: string };
    expect(shipped.task.mapper).toMatch(/^node js-runner\.mjs map\S* wordcount\.mjs/);
    expect(shipped.image).toBe("tormr/node");
  }, 120_000);
});

describe("retention", () => {
  it("deletes an expired job's records and code bundle, but never an output folder outside the state folder", async () => {
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "kept"),
      task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
      files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
      numReduceTasks: 1,
    });
    await host.master.createJob(spec);
    await joinWorkers(host, spec.id, 1, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("succeeded");
    const digest = (JSON.parse(job.workerJob) as { codeDigest: string }).codeDigest;
    // Not yet: the default retention is days.
    expect(await host.master.expire()).not.toContain(spec.id);
    const later = new Date((job.expiresAt as Date).getTime() + 1000);
    expect(await host.master.expire(later)).toContain(spec.id);
    expect(await host.db.job.count({ where: { id: spec.id } })).toBe(0);
    expect(await host.db.attempt.count({ where: { job: spec.id } })).toBe(0);
    expect(await host.db.exposure.count({ where: { job: spec.id } })).toBe(0);
    // Another job with the same scripts still holds the bundle; this one's output is the requester's.
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const stillUsed = await host.db.job.count({ where: { workerJob: { contains: digest } } });
    expect(existsSync(join(state, "host", "code", `${digest}.tar`))).toBe(stillUsed > 0);
  }, 120_000);

  it("deletes an expired job's uploaded files, unless a job run again from them still reads them", async () => {
    const stateDir = join(state, "host");
    const job = (output: string) =>
      jobSpec({
        inputs: [w.input],
        output: join(stateDir, "outputs", output),
        task: { kind: "streaming", mapper: "cat" },
        numReduceTasks: 0,
      });
    /** The job's input as the console uploads it, under uploads/<job id>. */
    const uploaded = (spec: ReturnType<typeof job>) => {
      const dir = join(stateDir, "uploads", spec.id, "input");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "in.txt"), "one line\n");
      spec.inputs = [join(dir, "in.txt")];
      return spec;
    };
    const first = uploaded(job("first"));
    const again = { ...job("again"), inputs: first.inputs };
    const alone = uploaded(job("alone"));
    for (const spec of [first, again, alone]) {
      await host.master.createJob(spec);
      // Cancelled once its splits are sealed: nothing of the job is still being written when the
      // test's folder goes.
      for (let i = 0; i < 200; i++) {
        const { state: now } = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
        if (now !== "preparing") break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await host.master.cancel(spec.id);
    }
    await host.db.job.updateMany({
      where: { id: { in: [first.id, alone.id] } },
      data: { expiresAt: new Date(0) },
    });
    expect(await host.master.expire()).toEqual(expect.arrayContaining([first.id, alone.id]));
    expect(existsSync(join(stateDir, "uploads", alone.id))).toBe(false);
    // The job run again from the first one's files still needs them.
    expect(existsSync(join(stateDir, "uploads", first.id, "input", "in.txt"))).toBe(true);
  }, 120_000);
});

// The exposure budget with a real job host and real workers: a cap kept on the map and the reduce side, collusion bounding the top-k sum, refusals at submission (admin API and CLI), and jobs that cannot keep to it failing by name.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobSpecInput } from "@tormr/mapreduce/job-spec";
import { AdminClient } from "@tormr/protocol/admin-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeEndpoints } from "../src/master/host-endpoints.ts";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import {
  fixture,
  inputFiles,
  jobSpec,
  readParts,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

const TORMR = join(import.meta.dirname, "..", "bin", "tormr.js");
const FAST = { heartbeatMs: 200, timeoutMs: 5_000, pollMs: 300 };
const SPLITS = { "mapreduce.input.fileinputformat.split.maxsize": "6000" };
let w: Workspace;
let state: string;
let host: JobHost;
let client: AdminClient;

beforeAll(async () => {
  w = workspace(4, 25_000, 31);
  state = mkdtempSync(join(tmpdir(), "tormr-budget-"));
  host = await startJobHost({ stateDir: join(state, "host"), settings: FAST });
  client = new AdminClient({
    adminUrl: host.adminUrl,
    workerUrl: host.workerUrl,
    secret: host.adminSecret,
  });
  // As `tormr host` does, so that `tormr streaming --job-host` finds this host.
  await writeEndpoints(join(state, "host"), {
    workerUrl: host.workerUrl,
    adminUrl: host.adminUrl,
    pid: process.pid,
  });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

let outputs = 0;
const wordCount = (conf: Record<string, string>, numReduceTasks: number, input = w.input) =>
  jobSpec({
    inputs: [input],
    output: join(w.dir, `out-${++outputs}`),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks,
    conf,
  } satisfies Omit<JobSpecInput, "id">);

/** Each worker's records from the exposure ledger: distinct split buckets, distinct map-output buckets. */
async function ledgerRecords(jobId: string) {
  await host.store.settled();
  const reads = await host.db.exposure.groupBy({
    by: ["pseudonym", "bucket"],
    where: { job: jobId },
    _max: { records: true },
  });
  const sides = { input: new Map<string, number>(), mapOutput: new Map<string, number>() };
  for (const read of reads) {
    const side = read.bucket.includes("/split/") ? sides.input : sides.mapOutput;
    side.set(read.pseudonym, (side.get(read.pseudonym) ?? 0) + (read._max.records ?? 0));
  }
  return sides;
}

/** Runs a command to its end: its exit code and what it wrote to stderr. */
function run(command: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  return new Promise((resolve) => child.once("close", (status) => resolve({ status, stderr })));
}

/** The k largest values added up. */
const topK = (values: Iterable<number>, k: number) =>
  [...values]
    .sort((a, b) => b - a)
    .slice(0, k)
    .reduce((sum, n) => sum + n, 0);

/** Each worker's records of the splits it was granted (any attempt), as the job row counted them. */
async function grantedInput(jobId: string) {
  const job = await host.db.job.findUniqueOrThrow({ where: { id: jobId } });
  const records = (JSON.parse(job.splits) as { index: number; records: number }[]).map(
    (s) => s.records,
  );
  const attempts = await host.db.attempt.findMany({ where: { job: jobId } });
  const held = new Map<string, Set<number>>();
  for (const a of attempts.filter((x) => x.task.startsWith("m"))) {
    held.set(a.worker, (held.get(a.worker) ?? new Set()).add(Number(a.task.slice(1))));
  }
  return new Map(
    [...held].map(([worker, maps]) => [
      worker,
      [...maps].reduce((s, m) => s + (records[m] ?? 0), 0),
    ]),
  );
}

describe("a job under an exposure cap", () => {
  it("keeps every worker within 25% of the input and of the map output, with the oracle's output", async () => {
    const spec = wordCount({ ...SPLITS, "tormr.exposure.cap": "25%" }, 10);
    await host.master.createJob(spec, { workers: 5 });
    await joinWorkers(host, spec.id, 5, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.error).toBeNull();
    expect(job.state).toBe("succeeded");
    expect(job.maps).toBeGreaterThan(8);
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));

    const exposure = await client.exposure(spec.id);
    expect(exposure).toMatchObject({ cap: 0.25, collusion: 1 });
    const ledger = await ledgerRecords(spec.id);
    for (const side of ["input", "mapOutput"] as const) {
      const total = exposure[side].records;
      expect(total).toBeGreaterThan(0);
      for (const [pseudonym, records] of ledger[side]) {
        expect(
          records * 4,
          `${pseudonym} saw ${records} of ${total} ${side} records`,
        ).toBeLessThanOrEqual(total);
      }
      expect(exposure.reached[side].maxShare).toBeGreaterThan(0);
      expect(exposure.reached[side].maxShare).toBeLessThanOrEqual(0.25);
      expect(exposure.reached[side].maxShare).toBe(Math.max(...ledger[side].values()) / total);
    }
    // No one worker may see more than a quarter: at least four of them mapped.
    expect(ledger.input.size).toBeGreaterThanOrEqual(4);
    // What was granted, not only what was read, stays within the cap.
    for (const [, records] of await grantedInput(spec.id)) {
      expect(records * 4).toBeLessThanOrEqual(exposure.input.records);
    }
    // An exposure kept before caps existed gets the job's cap, and what it reached from its shares.
    const { cap: _cap, collusion: _k, reached: _reached, ...before } = exposure;
    await host.db.job.update({
      where: { id: spec.id },
      data: { exposure: JSON.stringify(before) },
    });
    expect(await client.exposure(spec.id)).toEqual(exposure);
  }, 120_000);

  it("with collusion 2, keeps any two workers together within 50% on both sides", async () => {
    const spec = wordCount(
      { ...SPLITS, "tormr.exposure.cap": "0.5", "tormr.exposure.collusion": "2" },
      8,
    );
    await host.master.createJob(spec, { workers: 5 });
    await joinWorkers(host, spec.id, 5, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.error).toBeNull();
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const exposure = await client.exposure(spec.id);
    expect(exposure).toMatchObject({ cap: 0.5, collusion: 2 });
    const ledger = await ledgerRecords(spec.id);
    for (const side of ["input", "mapOutput"] as const) {
      const total = exposure[side].records;
      expect(topK(ledger[side].values(), 2) * 2).toBeLessThanOrEqual(total);
      expect(exposure.reached[side].maxUnionShare).toBeLessThanOrEqual(0.5);
      expect(exposure.reached[side].maxUnionShare).toBeGreaterThanOrEqual(
        exposure.reached[side].maxShare,
      );
    }
    expect(topK((await grantedInput(spec.id)).values(), 2) * 2).toBeLessThanOrEqual(
      exposure.input.records,
    );
  }, 120_000);
});

describe("a job whose cap cannot be kept", () => {
  /** The input folder's bytes and records (a line each; the last file's last line has no newline). */
  const inputShape = () => {
    let bytes = 0;
    let records = 0;
    for (const file of inputFiles(w.input)) {
      const text = readFileSync(file, "latin1");
      bytes += text.length;
      records += text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    }
    return { bytes, records };
  };

  it("is refused at submission through the admin API, with what would do, and leaves nothing", async () => {
    const { bytes, records } = inputShape();
    const firstFile = readFileSync(inputFiles(w.input)[0] as string).length;
    const cases = [
      {
        conf: { ...SPLITS, "tormr.exposure.cap": "10%" },
        reduces: 10,
        workers: 3,
        message:
          "a cluster of 3 workers cannot keep to the exposure cap of 10%: 3 workers, held to 10% each, may be given at most 30% of the input records; the smallest cluster that can is 10 workers",
      },
      {
        conf: { ...SPLITS, "tormr.exposure.cap": "0.5", "tormr.exposure.collusion": "2" },
        reduces: 8,
        workers: 3,
        message:
          "a cluster of 3 workers cannot keep to the exposure cap of 50% for any 2 colluding workers: 3 workers, any 2 held to 50% together, may be given at most 75% of the input records; the smallest cluster that can is 4 workers",
      },
      {
        conf: { ...SPLITS, "tormr.exposure.cap": "25%" },
        reduces: 2,
        workers: 5,
        message:
          "-numReduceTasks 2 cannot keep to the exposure cap of 25%: even perfectly balanced, each reduce partition holds 50% of the map output records, and one worker reduces it whole; use at least 4 reducers",
      },
      {
        // No split size: the four small files are packed into one split, all of the input.
        conf: { "tormr.exposure.cap": "25%" },
        reduces: 4,
        workers: 5,
        message: `split 0 (file-0.txt, bytes 0-${firstFile}, and 3 more files) holds ${records.toLocaleString("en-US")} of ${records.toLocaleString("en-US")} input records (100%), over the exposure cap of 25%: no worker may be given it; use a smaller -D mapreduce.input.fileinputformat.split.maxsize (it is 33554432 bytes; at most about ${Math.floor((bytes * (0.25 * records)) / records)} would do)`,
      },
    ];
    for (const refused of cases) {
      const spec = wordCount(refused.conf, refused.reduces);
      await expect(
        client.createJob({ spec, tickets: refused.workers, workers: refused.workers }),
      ).rejects.toMatchObject({ status: 400, code: "ERR_BAD_CONF", message: refused.message });
      await expect(client.status(spec.id)).rejects.toMatchObject({ code: "ERR_NO_JOB" });
      expect(existsSync(spec.output)).toBe(false);
    }
  });

  it("is refused by tormr streaming --job-host with exit 3 and one line", async () => {
    const output = join(w.dir, "never");
    // Not spawnSync: this process is the job host, and must answer while the CLI runs.
    const result = await run(process.execPath, [
      TORMR,
      "streaming",
      ...["-input", w.input, "-output", output, "-mapper", "cat", "-reducer", "cat"],
      ...["-numReduceTasks", "10", "-D", "mapreduce.input.fileinputformat.split.maxsize=6000"],
      ...["--job-host", join(state, "host"), "--workers", "3", "-D", "tormr.exposure.cap=10%"],
    ]);
    expect(result.status).toBe(3);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("tormr:"));
    expect(errors).toEqual([
      "tormr: a cluster of 3 workers cannot keep to the exposure cap of 10%: 3 workers, held to 10% each, may be given at most 30% of the input records; the smallest cluster that can is 10 workers",
    ]);
    expect(result.stderr).not.toContain("tormr-worker start");
    expect(existsSync(output)).toBe(false);
  });

  it("fails by name when no joined worker may take a task and no more can join", async () => {
    // No cluster size given: only the three tickets made say how many may come.
    const spec = wordCount({ ...SPLITS, "tormr.exposure.cap": "25%" }, 0);
    await host.master.createJob(spec);
    await joinWorkers(host, spec.id, 3, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(
      /^m\d+ \([\d,]+ of [\d,]+ input records, [\d.]+%\) cannot be given to any worker within the exposure cap of 25%: each of the 3 active workers would pass it, and no more can join \(every join ticket is used\); run the job again with more workers, smaller splits or a higher cap$/,
    );
    const ledger = await ledgerRecords(spec.id);
    const total = (await client.exposure(spec.id)).input.records;
    for (const [, records] of ledger.input) expect(records * 4).toBeLessThanOrEqual(total);
    expect(existsSync(spec.output)).toBe(false);
  }, 120_000);

  it("fails by name when one reduce partition's keys hold more than the cap", async () => {
    const skewed = join(w.dir, "skewed");
    mkdirSync(skewed);
    for (let i = 0; i < 4; i++) {
      writeFileSync(join(skewed, `same-${i}.txt`), "again and again\n".repeat(400));
    }
    const spec = wordCount({ ...SPLITS, "tormr.exposure.cap": "40%" }, 4, skewed);
    await host.master.createJob(spec, { workers: 5 });
    await joinWorkers(host, spec.id, 5, state);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("failed");
    // "again" is two thirds of every map's output, wherever it hashes.
    expect(job.error).toMatch(
      /^reduce partition [0-3] holds [\d,]+ of 4,800 map output records \((66\.7|100)%\), over the exposure cap of 40%: no worker may reduce it \(the keys are skewed\); use more reducers, a partitioner that spreads those keys, or a higher cap$/,
    );
    expect(
      await host.db.attempt.count({ where: { job: spec.id, task: { startsWith: "r" } } }),
    ).toBe(0);
  }, 120_000);
});

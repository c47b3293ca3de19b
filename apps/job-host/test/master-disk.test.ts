// Out of space on the job host: a job over its disk quota, or on a full disk, fails cleanly with a clear message, and the host runs on.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type JobHost, type JobHostOptions, startJobHost } from "../src/master/job-host.ts";
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
let state: string;
let host: JobHost | undefined;
let mounted: string | undefined;

beforeEach(() => {
  w = workspace(3, 30_000, 23);
  state = mkdtempSync(join(tmpdir(), "tormr-disk-"));
});
afterEach(async () => {
  await host?.close();
  host = undefined;
  if (mounted) execFileSync("umount", [mounted]);
  mounted = undefined;
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

const FAST = { heartbeatMs: 200, timeoutMs: 10_000, pollMs: 300 };

async function runJob(output: string, workers = 2, compression = "none") {
  const h = host as JobHost;
  const spec = jobSpec({
    inputs: [w.input],
    output: join(w.dir, output),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 2,
    // The sizes below are of uncompressed buckets: compressed, the whole job fits.
    conf: { ...SMALL_SPLITS, "tormr.compression": compression },
  });
  await h.master.createJob(spec);
  await joinWorkers(h, spec.id, workers, join(state, output));
  return { spec, job: await h.db.job.findUniqueOrThrow({ where: { id: spec.id } }) };
}

async function expectCleanFailure(
  spec: { id: string; output: string },
  job: { state: string; error: string | null },
  message: RegExp,
) {
  const h = host as JobHost;
  expect(job.state).toBe("failed");
  expect(job.error).toMatch(message);
  expect(existsSync(spec.output)).toBe(false);
  expect(await h.db.bucket.count({ where: { job: spec.id } })).toBe(0);
  expect(await h.db.attempt.count({ where: { job: spec.id, state: "running" } })).toBe(0);
  const [check] =
    await h.db.$queryRawUnsafe<{ integrity_check: string }[]>("PRAGMA integrity_check");
  expect(check?.integrity_check).toBe("ok");
}

async function start(options: Partial<JobHostOptions> = {}) {
  host = await startJobHost({ stateDir: join(state, "host"), settings: FAST, ...options });
}

describe("a job host out of space", () => {
  it("fails a job that goes over its disk quota, at once and with a clear message; the next job that fits runs", async () => {
    // The sealed input (about 90 KB) fits; the map outputs on top of it do not.
    await start({ jobQuotaBytes: 150_000 });
    const { spec, job } = await runJob("over");
    await expectCleanFailure(
      spec,
      job,
      /over its disk quota on this job host \(150000 bytes\).*raise the quota/,
    );
    const failed = await (host as JobHost).db.attempt.count({
      where: { job: spec.id, state: "failed" },
    });
    // It did not burn every attempt of every task first.
    expect(failed).toBeLessThanOrEqual(3);
    // The quota counts stored bytes: compressed, the same job fits under it.
    const compressed = await runJob("compressed", 2, "brotli");
    expect(compressed.job.error).toBeNull();
    expect(readParts(compressed.spec.output)).toEqual(wordCountOracle(w.input));
    await host?.close();
    await start({ jobQuotaBytes: 10_000_000 });
    const next = await runJob("fits");
    expect(next.job.state).toBe("succeeded");
    expect(readParts(next.spec.output)).toEqual(wordCountOracle(w.input));
  }, 120_000);

  it("fails a job cleanly when the store's disk is full, and the host runs on", async () => {
    if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs: run it as root");
    const buckets = join(state, "host", "buckets");
    mkdirSync(buckets, { recursive: true });
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=160k", "tmpfs", buckets]);
    mounted = buckets;
    await start();
    const { spec, job } = await runJob("full");
    await expectCleanFailure(spec, job, /disk is full/);
    // The space came back when the job's buckets went; a smaller job fits now.
    w.cleanup();
    w = workspace(1, 20_000, 24);
    const next = await runJob("small", 1);
    expect(next.job.error).toBeNull();
    expect(readParts(next.spec.output)).toEqual(wordCountOracle(w.input));
  }, 120_000);
});

// Jobs under each tormr.compression codec: the oracle's output on both paths, fewer bytes served when compressed, bad values refused.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JobHostDb, openJobHostDb } from "@tormr/db/job-host";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLocalJob } from "../src/local/run-local-job.ts";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import {
  fixture,
  jobSpec,
  readParts,
  run,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

const CODECS = ["none", "gzip", "brotli"] as const;
const FAST = { heartbeatMs: 200, timeoutMs: 2_000, pollMs: 500 };

let w: Workspace;
let state: string;
let host: JobHost;
let oracle: string[];

beforeAll(async () => {
  w = workspace(3, 40_000, 23);
  oracle = wordCountOracle(w.input);
  state = mkdtempSync(join(tmpdir(), "tormr-compressed-"));
  host = await startJobHost({ stateDir: join(state, "host"), settings: FAST });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w.cleanup();
});

const wordCount = (output: string, compression?: string) => ({
  inputs: [w.input],
  output: join(w.dir, output),
  task: {
    kind: "streaming" as const,
    mapper: "python3 wc_mapper.py",
    reducer: "python3 wc_reducer.py",
  },
  files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
  numReduceTasks: 2,
  conf: { ...SMALL_SPLITS, ...(compression ? { "tormr.compression": compression } : {}) },
});

/** Every byte the store served for `job`: splits to maps, partitions to reduces. */
async function served(db: JobHostDb, job: string): Promise<number> {
  const rows = await db.exposure.findMany({ where: { job }, select: { bytes: true } });
  return rows.reduce((sum, row) => sum + Number(row.bytes), 0);
}

describe("--local, sealed, with each codec", () => {
  const bytes = new Map<string, number>();

  for (const codec of CODECS) {
    it(`${codec}: gives the oracle's word count`, async () => {
      const storeDir = join(w.dir, `store-${codec}`);
      const result = await run(wordCount(`local-${codec}`, codec), { storeDir });
      expect(readParts(result.output)).toEqual(oracle);
      const db = await openJobHostDb(join(storeDir, "job-host.db"));
      try {
        bytes.set(codec, await served(db, result.jobId));
      } finally {
        await db.$disconnect();
      }
    });
  }

  it("the store's ledger shows fewer bytes served with gzip or brotli than with none", () => {
    const none = bytes.get("none") ?? 0;
    expect(none).toBeGreaterThan(0);
    expect(bytes.get("gzip")).toBeLessThan(none);
    expect(bytes.get("brotli")).toBeLessThan(none);
  });
});

describe("a job host with joined workers, with each codec", () => {
  const bytes = new Map<string, number>();

  for (const codec of [...CODECS, undefined]) {
    it(`${codec ?? "the default"}: gives the oracle's word count, with the codec pinned in the stored spec`, async () => {
      const spec = jobSpec(wordCount(`host-${codec ?? "default"}`, codec));
      await host.master.createJob(spec);
      await joinWorkers(host, spec.id, 2, state);
      const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
      expect(job.error).toBeNull();
      expect(job.state).toBe("succeeded");
      expect(readParts(spec.output)).toEqual(oracle);
      const stored = JSON.parse(job.spec) as JobSpec;
      const pinned = { none: "none", gzip: "gzip:6", brotli: "brotli:6" }[codec ?? "brotli"];
      expect(stored.conf["tormr.compression"]).toBe(pinned);
      await host.store.settled();
      bytes.set(codec ?? "default", await served(host.db, spec.id));
    });
  }

  it("the store's ledger shows fewer bytes served with gzip or brotli than with none", () => {
    const none = bytes.get("none") ?? 0;
    expect(none).toBeGreaterThan(0);
    expect(bytes.get("gzip")).toBeLessThan(none);
    expect(bytes.get("brotli")).toBeLessThan(none);
    expect(bytes.get("default")).toBeLessThan(none);
  });
});

describe("a bad tormr.compression", () => {
  const message =
    "-D tormr.compression=zstd:3: unknown codec; expected none, gzip, brotli, or gzip:<1-9>, brotli:<0-11>, got 'zstd:3'";

  it("is refused when the spec is parsed (the CLI and the admin API)", () => {
    expect(() => jobSpec(wordCount("bad-parse", "zstd:3"))).toThrow(message);
  });

  it("is refused at validation, on both paths, before anything is written", async () => {
    const good = jobSpec(wordCount("bad"));
    const bad: JobSpec = { ...good, conf: { ...good.conf, "tormr.compression": "zstd:3" } };
    await expect(runLocalJob(bad, { workers: 1 })).rejects.toMatchObject({
      code: "ERR_BAD_CONF",
      message,
    });
    await expect(host.master.createJob(bad)).rejects.toMatchObject({
      code: "ERR_BAD_CONF",
      message,
    });
    expect(existsSync(bad.output)).toBe(false);
    expect(await host.db.job.count({ where: { id: bad.id } })).toBe(0);
  });
});

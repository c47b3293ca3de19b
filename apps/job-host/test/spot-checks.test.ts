// Spot checks and decoy splits (#8): without replicas, the job host's own runs of a secret sample of tasks and of planted decoys catch a cheating worker, and everything it did is redone; honest jobs are untouched by them.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DECOY_KEY,
  EXPOSURE_CAP_KEY,
  REPLICATION_KEY,
  SPOT_CHECK_KEY,
} from "@tormr/mapreduce/job-spec";
import { provenanceSchema } from "@tormr/protocol/provenance";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyOutput } from "../src/cli/verify-command.ts";
import type { HostSplit } from "../src/master/decoys.ts";
import { jobExposure } from "../src/master/job-exposure.ts";
import { type JobHost, startJobHost } from "../src/master/job-host.ts";
import { jobStatus } from "../src/master/job-status.ts";
import { type Attack, runCheatingWorker } from "./cheating-worker.ts";
import {
  fixture,
  inputFiles,
  jobSpec,
  oracle,
  readParts,
  SMALL_SPLITS,
  type Workspace,
  wordCountOracle,
  workspace,
} from "./helpers.ts";
import { joinWorkers } from "./master-helpers.ts";

/** The rates docs/job-host.md recommends for a job that wants checks without replicas. */
const RECOMMENDED = { [SPOT_CHECK_KEY]: "0.3", [DECOY_KEY]: "0.2" };

let w: Workspace;
let host: JobHost;
let state: string;
const events: Record<string, unknown>[] = [];

beforeAll(async () => {
  // 8 files of about 50 kB in 30 kB splits: 16 maps (and 4 decoys), and 4 reduces.
  w = workspace(8, 50_000, 43);
  state = mkdtempSync(join(tmpdir(), "tormr-spot-checks-"));
  host = await startJobHost({
    stateDir: join(state, "host"),
    settings: { heartbeatMs: 200, timeoutMs: 60_000, pollMs: 300 },
    log: (event) => events.push(event),
  });
}, 60_000);
afterAll(async () => {
  await host?.close();
  rmSync(state, { recursive: true, force: true });
  w?.cleanup();
});

const wordCount = (output: string, conf: Record<string, string> = {}, reduces = 4) =>
  jobSpec({
    inputs: [w.input],
    output: join(w.dir, output),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: reduces,
    conf: { ...SMALL_SPLITS, ...RECOMMENDED, ...conf },
  });

/** `tormr verify <dir>`, in this process: its exit code and what it printed. */
async function verify(dir: string) {
  let out = "";
  const write = (s: string) => {
    out += s;
    return true;
  };
  const io = { stdout: { write }, stderr: { write } } as unknown as Parameters<
    typeof verifyOutput
  >[1];
  const code = await verifyOutput(dir, io);
  return { code, out };
}

/** Whether the task ended committed to a result of someone other than `worker`. */
async function committedElsewhere(jobId: string, task: string, worker: string) {
  const row = await host.db.task.findUniqueOrThrow({
    where: { job_name: { job: jobId, name: task } },
  });
  if (row.state !== "committed" || row.committedAttempt === null) return false;
  const won = await host.db.attempt.findUniqueOrThrow({
    where: { job_task_number: { job: jobId, task, number: row.committedAttempt } },
  });
  return won.worker !== worker;
}

describe("a cheating worker among honest ones, spot checks and decoys alone", () => {
  // Small jobs (4 files of about 45 kB: 8 maps, 2 decoys, 2 reduces), each with a fresh cheater
  // of 2 slots beside one honest worker: each job is one trial.
  let small: Workspace;
  beforeAll(() => {
    small = workspace(4, 45_000, 71);
  });
  afterAll(() => small?.cleanup());

  /** Runs `rounds` jobs with a cheater; per job, whether it was caught and all its attacks undone. */
  async function trials(rounds: number, seed: number, honestFirst = 0) {
    const out: { attacks: Attack[]; detected: boolean }[] = [];
    for (let round = 0; round < rounds; round++) {
      const spec = jobSpec({
        inputs: [small.input],
        output: join(small.dir, `cheat-${seed}-${round}`),
        task: {
          kind: "streaming",
          mapper: "python3 wc_mapper.py",
          reducer: "python3 wc_reducer.py",
        },
        files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
        numReduceTasks: 2,
        conf: { ...SMALL_SPLITS, ...RECOMMENDED },
      });
      await host.master.createJob(spec, { workers: 2 });
      const [ticket] = await host.master.createTickets(spec.id, 1);
      const dir = mkdtempSync(join(state, `cheat-${seed}-${round}-`));
      const modes = (["corrupt", "drop", "stale"] as const).filter((_, i) => i !== round % 3);
      const [cheater] = await Promise.all([
        runCheatingWorker({
          jobHost: host.workerUrl,
          ticket: ticket as string,
          dir,
          cheat: { seed: seed + round, rate: 0.9, modes, honestFirst },
          slots: 2,
        }),
        joinWorkers(host, spec.id, 1, dir),
      ]);
      const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
      expect({ state: job.state, error: job.error }).toEqual({ state: "succeeded", error: null });
      const tasks = await host.db.task.findMany({ where: { job: spec.id } });
      expect(tasks.filter((t) => t.checkKind === "decoy")).toHaveLength(2);
      if (cheater.attacks.length === 0) continue;
      // Detected: a check caught the cheater, and no attacked task kept its result.
      const worker = await host.db.worker.findUniqueOrThrow({
        where: { job_pseudonym: { job: spec.id, pseudonym: cheater.pseudonym } },
      });
      let undone = 0;
      for (const attack of cheater.attacks) {
        if (await committedElsewhere(spec.id, attack.task, cheater.pseudonym)) undone++;
      }
      const detected = worker.caught !== null && undone === cheater.attacks.length;
      if (detected) {
        expect(worker.state).toBe("removed");
        // The cheater was told why it is out.
        expect(cheater.summary.reason).toMatch(
          /^this worker was removed from the job: a result of it did not match the job host's own run \((spot check|decoy): /,
        );
        expect(worker.caught).toMatch(/^(spot check|decoy): /);
        expect(readParts(spec.output)).toEqual(wordCountOracle(small.input));
      }
      out.push({ attacks: cheater.attacks, detected });
    }
    const caught = out.filter((t) => t.detected).length;
    console.log(
      `spot checks (${RECOMMENDED[SPOT_CHECK_KEY]}) + decoys (${RECOMMENDED[DECOY_KEY]})${honestFirst ? `, cheater honest on its first ${honestFirst} tasks` : ""}: caught in ${caught} of ${out.length} jobs, ${out.reduce((n, t) => n + t.attacks.length, 0)} attacks`,
    );
    return { jobs: out.length, caught };
  }

  it("is caught in at least 19 of 20 jobs; everything it did is redone, and the output is the oracle's", async () => {
    const { jobs, caught } = await trials(20, 3000);
    expect(jobs).toBeGreaterThanOrEqual(19);
    expect(caught).toBeGreaterThanOrEqual(jobs - 1);
    expect(events.some((e) => e.event === "worker-caught")).toBe(true);
  }, 600_000);

  it("is caught by the secret draw and the decoys alone when it plays honest on its first tasks", async () => {
    // Honest on its first 2 (one per slot), so probation cannot catch it: only the drawn tasks
    // and the decoys can. A miss is about (1 - 0.9 × 5/12)^6 ≈ 6% per job (docs/job-host.md);
    // 8 of 10 leaves room for chance.
    const { jobs, caught } = await trials(10, 4000, 2);
    expect(jobs).toBeGreaterThanOrEqual(9);
    expect(caught).toBeGreaterThanOrEqual(jobs - 2);
  }, 600_000);
});

describe("an honest cluster with spot checks and decoys", () => {
  it("passes every check; decoys look like real splits, and leave no trace in the output or counters", async () => {
    const spec = wordCount("honest");
    await host.master.createJob(spec, { workers: 2 });
    const dir = mkdtempSync(join(state, "honest-"));
    await joinWorkers(host, spec.id, 2, dir);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    const tasks = await host.db.task.findMany({ where: { job: spec.id } });
    const checked = tasks.filter((t) => t.checkKind !== null);
    // ceil(0.2 × 16) = 4 decoys, ceil(0.3 × 20) = 6 spot checks, and each worker's first result.
    expect(tasks.filter((t) => t.checkKind === "decoy")).toHaveLength(4);
    expect(checked.length).toBeGreaterThanOrEqual(10);
    expect(checked.every((t) => t.state === "committed" && t.expected !== null)).toBe(true);
    expect(await host.db.worker.count({ where: { job: spec.id, caught: { not: null } } })).toBe(0);

    // A decoy is shown to its worker as a range of a real input file, never its own path.
    const splits = JSON.parse(job.splits) as HostSplit[];
    const names = new Set(inputFiles(w.input).map((f) => f.slice(f.lastIndexOf("/") + 1)));
    const decoys = splits.filter((s) => s.decoyOf !== undefined);
    expect(decoys).toHaveLength(4);
    for (const decoy of decoys) {
      expect(decoy.segments.every((s) => names.has(s.shownAs?.name ?? ""))).toBe(true);
      expect(splits[decoy.decoyOf as number]?.decoyOf).toBeUndefined();
    }
    // The counters count the real input only: every input line read once.
    const counters = JSON.parse(job.counters ?? "{}") as Record<string, Record<string, number>>;
    const lines = inputFiles(w.input).reduce((n, f) => {
      const text = readFileSync(f, "latin1");
      return n + text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
    }, 0);
    const records = Object.values(counters).find((g) => "MAP_INPUT_RECORDS" in g);
    expect(records?.MAP_INPUT_RECORDS).toBe(lines);
    // The provenance lists the decoys; tormr verify's checks pass.
    const provenance = provenanceSchema.parse(
      JSON.parse(readFileSync(join(spec.output, "_PROVENANCE.json"), "utf8")),
    );
    expect(provenance.spec.decoys).toHaveLength(4);
    expect(events.filter((e) => e.event === "check-passed" && e.job === spec.id).length).toBe(
      checked.length,
    );
    expect(await verify(spec.output)).toMatchObject({ code: 0 });
    // The exposure report's input is the real input: decoys count only for whoever read them.
    const exposure = await jobExposure(host.db, spec.id);
    expect(exposure.input.records).toBe(lines);
    const seen = exposure.workers.reduce((n, w) => n + w.input.records, 0);
    expect(seen).toBeGreaterThan(lines);
    // A committed result keeps no "waiting for the job host's own run" note.
    const notes = await host.db.attempt.findMany({
      where: { job: spec.id, state: "succeeded", error: { not: null } },
    });
    expect(notes).toEqual([]);
  }, 240_000);

  for (const [name, task, files, expected] of [
    [
      "a JS job",
      { kind: "js", module: fixture("wordcount.mjs") },
      [],
      () => wordCountOracle(w.input),
    ],
    [
      "a mapper that prints its input file's name",
      { kind: "streaming", mapper: "sh input_file_mapper.sh", reducer: "cat" },
      [fixture("input_file_mapper.sh")],
      () =>
        inputFiles(w.input)
          .flatMap((f) =>
            oracle([f], `env mapreduce_map_input_file='${f}' ${fixture("input_file_mapper.sh")}`),
          )
          .sort(),
    ],
  ] as const) {
    it(`checks ${name} on the job host as its workers ran it: every task checked, nobody caught`, async () => {
      const spec = jobSpec({
        inputs: [w.input],
        output: join(w.dir, `every-${name.length}`),
        task,
        files: [...files],
        numReduceTasks: 2,
        conf: { ...SMALL_SPLITS, [SPOT_CHECK_KEY]: "1", [DECOY_KEY]: "0.2" },
      });
      await host.master.createJob(spec, { workers: 2 });
      await joinWorkers(host, spec.id, 2, mkdtempSync(join(state, "every-")));
      const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
      expect({ state: job.state, error: job.error }).toEqual({ state: "succeeded", error: null });
      const status = await jobStatus(host.db, spec.id);
      expect(status.checks).toMatchObject({ spotChecked: 18, decoys: 4, passed: 22, caught: [] });
      expect(readParts(spec.output)).toEqual(expected());
    }, 240_000);
  }

  it("numbers a map-only job's parts over its real maps, and tormr verify passes", async () => {
    const spec = wordCount("map-only", { [DECOY_KEY]: "0.2" }, 0);
    await host.master.createJob(spec, { workers: 2 });
    await joinWorkers(host, spec.id, 2, mkdtempSync(join(state, "map-only-")));
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect(job.state).toBe("succeeded");
    const parts = readdirSync(spec.output)
      .filter((f) => f.startsWith("part-"))
      .sort();
    expect(parts).toEqual(
      Array.from({ length: 16 }, (_, i) => `part-${String(i).padStart(5, "0")}`),
    );
    const verified = await verify(spec.output);
    expect(verified.out).toContain("16 parts from 20 tasks");
    expect(verified.code).toBe(0);
  }, 240_000);
});

describe("a cheater caught at a reduce", () => {
  it("has every map of its that no check confirmed run again, and so every reduce", async () => {
    const spec = wordCount("undo", { [DECOY_KEY]: "0" }, 2);
    await host.master.createJob(spec, { workers: 2 });
    // Checks forced where this test needs them: no map is drawn, every reduce is.
    await host.db.task.updateMany({
      where: { job: spec.id, kind: "map" },
      data: { checkKind: null },
    });
    await host.db.task.updateMany({
      where: { job: spec.id, kind: "reduce" },
      data: { checkKind: "spot" },
    });
    const [ticket] = await host.master.createTickets(spec.id, 1);
    const dir = mkdtempSync(join(state, "undo-"));
    const [cheater] = await Promise.all([
      runCheatingWorker({
        jobHost: host.workerUrl,
        ticket: ticket as string,
        dir,
        cheat: { seed: 5, rate: 1, modes: ["corrupt"], only: "r" },
        slots: 2,
      }),
      joinWorkers(host, spec.id, 1, dir),
    ]);
    const job = await host.db.job.findUniqueOrThrow({ where: { id: spec.id } });
    expect({ state: job.state, error: job.error }).toEqual({ state: "succeeded", error: null });
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    expect(cheater.attacks.length).toBeGreaterThanOrEqual(1);
    expect(cheater.attacks.every((a) => a.task.startsWith("r"))).toBe(true);
    const worker = await host.db.worker.findUniqueOrThrow({
      where: { job_pseudonym: { job: spec.id, pseudonym: cheater.pseudonym } },
    });
    expect(worker.caught).toMatch(/^spot check: r\d's output has plaintext SHA-256 /);
    // Its maps (all but the first, which probation confirmed) were undone and run elsewhere.
    const undone = events.filter((e) => e.event === "task-undone" && e.job === spec.id);
    const maps = await host.db.attempt.findMany({
      where: { job: spec.id, worker: cheater.pseudonym, task: { startsWith: "m" } },
    });
    // Probation checked its first task (both, when its second result came in first).
    const confirmed = maps.filter((a) => a.state === "succeeded");
    expect(confirmed.length).toBeGreaterThanOrEqual(1);
    expect(confirmed.length).toBeLessThanOrEqual(2);
    expect(undone.filter((e) => String(e.task).startsWith("m")).length).toBe(
      maps.filter((a) => a.state === "killed" && a.error?.startsWith("discarded")).length,
    );
    for (const task of await host.db.task.findMany({ where: { job: spec.id } })) {
      const won = await host.db.attempt.findUniqueOrThrow({
        where: {
          job_task_number: { job: spec.id, task: task.name, number: task.committedAttempt ?? -1 },
        },
      });
      // What stands of the cheater's is only what a check confirmed.
      if (won.worker === cheater.pseudonym) {
        expect(confirmed.map((a) => a.id)).toContain(won.id);
        expect(task.checkKind).toBe("spot");
      }
    }
    const status = await jobStatus(host.db, spec.id);
    expect(status.checks?.undone).toBeGreaterThanOrEqual(1);
  }, 240_000);
});

describe("a job host that stops while results wait for its own runs", () => {
  it("judges them when it starts again: nothing is lost, and the job ends with the oracle's output", async () => {
    const stateDir = join(state, "restart-host");
    const settings = { heartbeatMs: 200, timeoutMs: 2_000, pollMs: 300 };
    // The first host never gets a sandbox for its checks: every checked result stays held.
    const first = await startJobHost({
      stateDir,
      settings,
      checkSandbox: () => new Promise(() => {}),
    });
    const spec = wordCount("restart", { [SPOT_CHECK_KEY]: "0.2", [DECOY_KEY]: "0.1" });
    await first.master.createJob(spec, { workers: 2 });
    const stopped = new AbortController();
    const running = joinWorkers(
      first,
      spec.id,
      2,
      mkdtempSync(join(state, "restart-")),
      undefined,
      stopped.signal,
    );
    for (;;) {
      const open = await first.db.task.count({
        where: { job: spec.id, kind: "map", state: { in: ["pending"] } },
      });
      const busy = await first.db.attempt.count({ where: { job: spec.id, state: "running" } });
      if (open === 0 && busy === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const held = await first.db.attempt.count({ where: { job: spec.id, state: "held" } });
    expect(held).toBeGreaterThanOrEqual(1);
    stopped.abort();
    await running;
    await first.close();

    const second = await startJobHost({ stateDir, settings });
    try {
      await joinWorkers(second, spec.id, 2, mkdtempSync(join(state, "restart-again-")));
      const job = await second.db.job.findUniqueOrThrow({ where: { id: spec.id } });
      expect(job.state).toBe("succeeded");
      expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
      const checks = await second.db.task.findMany({
        where: { job: spec.id, checkKind: { not: null } },
      });
      expect(checks.every((t) => t.state === "committed" && t.expected !== null)).toBe(true);
    } finally {
      await second.close();
    }
  }, 240_000);
});

describe("refusals at submission", () => {
  const refusal = (conf: Record<string, string>) =>
    host.master.createJob(wordCount(`refused-${Object.keys(conf).join("-")}`, conf));

  it("refuses spot checks or decoys beside replication, naming both", async () => {
    await expect(refusal({ [REPLICATION_KEY]: "2" })).rejects.toThrow(
      "-D tormr.replication=2 already compares every task's results; spot checks (-D tormr.spotcheck.rate) and decoys (-D tormr.decoy.rate) are for jobs without replicas: set one or the other",
    );
  });

  it("refuses decoys under an exposure cap, and says what to use", async () => {
    await expect(refusal({ [EXPOSURE_CAP_KEY]: "0.5" })).rejects.toThrow(
      "-D tormr.decoy.rate plants decoys of sampled input records, which -D tormr.exposure.cap would not count: under an exposure cap use spot checks (-D tormr.spotcheck.rate) alone",
    );
  });

  it("leaves another job's decoys alone, and no decoys of a job it refused", async () => {
    const first = wordCount("decoys-kept");
    await host.master.createJob(first);
    const decoys = join(state, "host", "decoys", first.id);
    const planted = readdirSync(decoys).sort();
    expect(planted.length).toBeGreaterThanOrEqual(4);
    await expect(host.master.createJob(first)).rejects.toThrow(
      expect.objectContaining({
        code: "ERR_JOB_EXISTS",
        message: `job ${first.id} already exists on this job host`,
      }),
    );
    expect(readdirSync(decoys).sort()).toEqual(planted);
    // Its output folder exists now: a second job writing there is refused after planting.
    const second = { ...wordCount("decoys-refused"), output: first.output };
    await expect(host.master.createJob(second)).rejects.toThrow("output folder already exists");
    expect(existsSync(join(state, "host", "decoys", second.id))).toBe(false);
    await host.master.cancel(first.id);
    expect(existsSync(decoys)).toBe(false);
  });

  it("refuses a rate that is not a share", async () => {
    expect(() => wordCount("refused-rate", { [SPOT_CHECK_KEY]: "2" })).toThrow(
      expect.objectContaining({
        code: "ERR_BAD_CONF",
        message: expect.stringContaining("-D tormr.spotcheck.rate=2"),
      }),
    );
  });
});

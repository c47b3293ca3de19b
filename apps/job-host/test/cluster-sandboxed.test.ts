// The streaming oracle cases through a job host and 3 worker processes, in Docker and in bubblewrap; escapes fail with their reason.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobSpecInput } from "@tormr/mapreduce/job-spec";
import { type Dockerd, startDockerd } from "@tormr/sandbox/dockerd";
import { ensureImage } from "@tormr/sandbox/images";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  type HostProcess,
  killAll,
  startHostProcess,
  startWorkerProcess,
  type WorkerProcess,
  waitForJob,
} from "./cluster-helpers.ts";
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

let w: Workspace;
let dir: string;
let scripts: string;
let host: HostProcess;
let dockerd: Dockerd;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  w = workspace(3, 30_000, 41);
  dir = mkdtempSync(join(tmpdir(), "tormr-cluster-sandbox-"));
  scripts = mkdtempSync(join(tmpdir(), "tormr-escapes-"));
  const write = (name: string, text: string) =>
    writeFileSync(join(scripts, name), text, { mode: 0o755 });
  write("phone_home.py", "import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=5)\n");
  write("write_out.sh", "cat > /dev/null; echo x > /job/escaped\n");
  write("fork_bomb.py", "import os\nwhile True:\n    os.fork()\n");
  write("hog.py", "b = bytearray(b'x') * (512 * 1024 * 1024)\n");
  dockerd = await startDockerd(mkdtempSync(join(tmpdir(), "tormr-dockerd-")));
  // Built once here, so that three workers do not race to build it.
  await ensureImage("python", { host: dockerd.host });
  host = await startHostProcess(join(dir, "host"));
}, 180_000);
afterAll(async () => {
  await killAll(host, workers);
  await dockerd?.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(scripts, { recursive: true, force: true });
  w.cleanup();
});

type Kind = "docker" | "bwrap";
let runs = 0;

/** Runs a job on `count` fresh worker processes in sandbox `kind`, to its end. */
async function runOnCluster(
  kind: Kind,
  input: Omit<JobSpecInput, "id" | "output">,
  count = 3,
  flags: string[] = [],
) {
  const admin = adminClient(host);
  const spec = jobSpec({ ...input, output: join(w.dir, `out-${runs++}`) });
  const { jobId, tickets } = await admin.createJob(spec, count);
  const mine = await Promise.all(
    tickets.map((ticket) =>
      startWorkerProcess(
        host.workerUrl,
        ticket,
        join(dir, `w${runs}-${ticket.slice(0, 6)}`),
        kind,
        {
          DOCKER_HOST: dockerd.host,
        },
        undefined,
        flags,
      ),
    ),
  );
  workers.push(...mine);
  const status = await waitForJob(admin, jobId);
  const codes = await Promise.all(mine.map((x) => x.exited));
  return { spec, status, attempts: await admin.attempts(jobId), codes, workers: mine };
}

const wc = [fixture("wc_mapper.py"), fixture("wc_reducer.py")];
const CASES: {
  name: string;
  job: () => Omit<JobSpecInput, "id" | "output">;
  expected: () => string[];
}[] = [
  {
    name: "word count with a combiner and 3 reducers",
    job: () => ({
      inputs: [w.input],
      task: {
        kind: "streaming",
        mapper: "python3 wc_mapper.py",
        combiner: "python3 wc_reducer.py",
        reducer: "python3 wc_reducer.py",
      },
      files: wc,
      numReduceTasks: 3,
      conf: SMALL_SPLITS,
    }),
    expected: () => wordCountOracle(w.input),
  },
  {
    name: "map-only",
    job: () => ({
      inputs: [w.input],
      task: { kind: "streaming", mapper: "python3 wc_mapper.py" },
      files: wc,
      numReduceTasks: 0,
      conf: SMALL_SPLITS,
    }),
    expected: () => oracle(inputFiles(w.input), fixture("wc_mapper.py")),
  },
  {
    name: "mapreduce_map_input_file (the file's base name)",
    job: () => ({
      inputs: [w.input],
      task: { kind: "streaming", mapper: "sh input_file_mapper.sh", reducer: "cat" },
      files: [fixture("input_file_mapper.sh")],
      numReduceTasks: 2,
      conf: SMALL_SPLITS,
    }),
    expected: () =>
      inputFiles(w.input)
        .flatMap((f) =>
          oracle([f], `env mapreduce_map_input_file='${f}' ${fixture("input_file_mapper.sh")}`),
        )
        .sort(),
  },
  {
    name: "two key fields",
    job: () => ({
      inputs: [w.input],
      task: {
        kind: "streaming",
        mapper: "python3 pair_mapper.py",
        reducer: "python3 pair_reducer.py",
      },
      files: [fixture("pair_mapper.py"), fixture("pair_reducer.py")],
      numReduceTasks: 2,
      conf: { ...SMALL_SPLITS, "stream.num.map.output.key.fields": "2" },
    }),
    expected: () =>
      oracle(inputFiles(w.input), fixture("pair_mapper.py"), fixture("pair_reducer.py")),
  },
];

describe.each(["docker", "bwrap"] as const)("3 worker processes in the %s sandbox", (kind) => {
  it.each(CASES)(
    "$name equals the oracle; the attempt records show the sandbox",
    async (c) => {
      const { spec, status, attempts, codes } = await runOnCluster(kind, c.job());
      expect(status.error).toBeNull();
      expect(readParts(spec.output)).toEqual(c.expected());
      expect(codes).toEqual([0, 0, 0]);
      const done = attempts.filter((a) => a.state === "succeeded");
      expect(done.length).toBe(status.maps.total + status.reduces.total);
      for (const a of done) {
        expect(a.sandbox).toBe(kind);
        if (kind === "docker") expect(a.containerId).toMatch(/^tormr-/);
        else expect(a.containerId).toBeNull();
      }
    },
    120_000,
  );
});

describe("escapes from the Docker sandbox fail with their reason, and the worker carries on", () => {
  const ESCAPES = [
    {
      name: "a network connection",
      mapper: "python3 phone_home.py",
      check: (a: Attempt) => expect(a.stderrTail).toContain("Network is unreachable"),
    },
    {
      name: "a write outside /tmp",
      mapper: "sh write_out.sh",
      check: (a: Attempt) => expect(a.stderrTail).toContain("Read-only file system"),
    },
    {
      name: "a fork bomb",
      mapper: "python3 fork_bomb.py",
      check: (a: Attempt) => {
        expect(a.stderrTail).toMatch(/Resource temporarily unavailable/);
        expect(a.reason).toBe("pids");
      },
    },
    {
      name: "allocating past the memory limit",
      mapper: "python3 hog.py",
      check: (a: Attempt) => expect(a).toMatchObject({ exitCode: 137, reason: "memory" }),
    },
  ];
  type Attempt = Awaited<ReturnType<typeof runOnCluster>>["attempts"][number];
  it.each(ESCAPES)(
    "$name",
    async ({ mapper, check }) => {
      const file = mapper.split(" ")[1] as string;
      const {
        status,
        attempts,
        codes,
        workers: mine,
      } = await runOnCluster(
        "docker",
        {
          inputs: [inputFiles(w.input)[0] as string],
          task: { kind: "streaming", mapper, reducer: "cat" },
          files: [join(scripts, file)],
          numReduceTasks: 1,
          conf: { "mapreduce.map.maxattempts": "2" },
        },
        1,
        ["--memory-mb", "128", "--pids", "32"],
      );
      expect(status.state).toBe("failed");
      const failed = attempts.filter((a) => a.state === "failed");
      // The one worker survived the first attempt's escape and ran the second.
      expect(failed).toHaveLength(2);
      for (const a of failed) check(a);
      expect(codes).toEqual([0]);
      expect(mine[0]?.output.join("\n")).not.toMatch(/uncaught|internal error/i);
    },
    120_000,
  );
});

describe("an image that is not on the worker's allow-list", () => {
  it("is refused by the worker before it joins", async () => {
    const admin = adminClient(host);
    const spec = jobSpec({
      inputs: [w.input],
      output: join(w.dir, "evil"),
      task: { kind: "streaming", mapper: "cat" },
      numReduceTasks: 0,
    });
    const created = await fetch(`${host.adminUrl}/admin/jobs`, {
      method: "POST",
      headers: { authorization: `Bearer ${host.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ spec, tickets: 1, image: "evil/miner" }),
    });
    const body = (await created.json()) as { jobId: string; tickets: string[] };
    expect(created.status, JSON.stringify(body)).toBe(201);
    const { jobId, tickets } = body;
    const worker = await startWorkerProcess(
      host.workerUrl,
      tickets[0] as string,
      join(dir, "picky"),
      "docker",
      { DOCKER_HOST: dockerd.host },
    );
    workers.push(worker);
    expect(await worker.exited).toBe(6);
    expect(worker.output.join("\n")).toContain("evil/miner");
    expect((await admin.status(jobId)).workers).toEqual([]);
  }, 60_000);
});

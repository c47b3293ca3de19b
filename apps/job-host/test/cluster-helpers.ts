// Test helpers for real processes: a `tormr host` process, `tormr-worker` processes, and the admin API.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import type { AttemptRecord, JobStatus } from "../src/master/job-status.ts";

const TORMR = join(import.meta.dirname, "..", "bin", "tormr.js");
export const TORMR_WORKER = join(
  import.meta.dirname,
  "..",
  "..",
  "worker",
  "bin",
  "tormr-worker.js",
);

/** Short periods so that lost workers are noticed in seconds. */
export const FAST_HOST = ["--heartbeat-ms", "300", "--timeout-ms", "3000", "--poll-ms", "1000"];

export interface HostProcess {
  workerUrl: string;
  adminUrl: string;
  secret: string;
  process: ChildProcess;
  /** Everything it logged to stderr so far. */
  log: string[];
  exited: Promise<number | null>;
}

/** Starts `tormr host` and waits for the JSON line with its URLs. */
export async function startHostProcess(
  stateDir: string,
  extra: string[] = [],
): Promise<HostProcess> {
  const child = spawn(
    process.execPath,
    [TORMR, "host", "--state-dir", stateDir, "--json", ...FAST_HOST, ...extra],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const log: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => log.push(line));
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    void exited.then((code) =>
      reject(new Error(`tormr host exited with ${code}:\n${log.join("\n")}`)),
    );
  });
  const ready = JSON.parse(first) as {
    workerUrl: string;
    adminUrl: string;
    adminSecretFile: string;
  };
  return {
    workerUrl: ready.workerUrl,
    adminUrl: ready.adminUrl,
    secret: readFileSync(ready.adminSecretFile, "utf8").trim(),
    process: child,
    log,
    exited,
  };
}

/** A client of a job host's admin API. */
export function adminClient(host: { adminUrl: string; secret: string }) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${host.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${host.secret}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 400)
      throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    createJob: async (spec: JobSpec, tickets: number) =>
      (await call("POST", "/admin/jobs", { spec, tickets })) as {
        jobId: string;
        tickets: string[];
      },
    tickets: async (jobId: string, count: number) =>
      ((await call("POST", `/admin/jobs/${jobId}/tickets`, { count })) as { tickets: string[] })
        .tickets,
    /** One ticket per Tor client-authorization key, usable only with that key. */
    ticketsFor: async (jobId: string, clientAuthKeys: string[]) =>
      (
        (await call("POST", `/admin/jobs/${jobId}/tickets`, { clientAuthKeys })) as {
          tickets: string[];
        }
      ).tickets,
    status: async (jobId: string) =>
      (await call("GET", `/admin/jobs/${jobId}`)) as unknown as JobStatus,
    attempts: async (jobId: string) =>
      ((await call("GET", `/admin/jobs/${jobId}/tasks`)) as { attempts: AttemptRecord[] }).attempts,
  };
}

export interface WorkerProcess {
  pseudonym: string;
  process: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
}

/** Starts a real `tormr-worker` with its own identity and work folder. */
export async function startWorkerProcess(
  workerUrl: string,
  ticket: string,
  dir: string,
  sandbox: "bwrap" | "docker" | "none",
  env: NodeJS.ProcessEnv = {},
  bin = TORMR_WORKER,
  flags: string[] = [],
): Promise<WorkerProcess> {
  const configDir = join(dir, "config");
  const { identity } = await loadOrCreateIdentity(configDir);
  const args = [
    "start",
    "--job-host",
    workerUrl,
    "--config-dir",
    configDir,
    "--work-dir",
    join(dir, "work"),
    "--disk-quota-mb",
    "256",
    "--yes",
    ...(sandbox === "none" ? ["--unsafe-no-sandbox"] : ["--sandbox", sandbox]),
    ...flags,
  ];
  const child = spawn(
    bin === TORMR_WORKER ? process.execPath : bin,
    bin === TORMR_WORKER ? [bin, ...args] : args,
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env, TORMR_WORKER_TICKET: ticket },
    },
  );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => output.push(line));
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { pseudonym: identity.pseudonym, process: child, output, exited };
}

/** Polls the job's status until `done` says so (or the job is over). */
export async function waitForJob(
  admin: ReturnType<typeof adminClient>,
  jobId: string,
  done: (status: JobStatus) => boolean = (s) =>
    ["succeeded", "failed", "cancelled"].includes(s.state),
  timeoutMs = 120_000,
): Promise<JobStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await admin.status(jobId).catch(() => undefined);
    if (status && (done(status) || ["succeeded", "failed", "cancelled"].includes(status.state)))
      return status;
    if (Date.now() > deadline)
      throw new Error(
        `job ${jobId} did not get there in ${timeoutMs} ms: ${JSON.stringify(status)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ends a test's processes (SIGKILL: their state is the test's, not worth a clean stop) and waits for them. */
export async function killAll(
  host: HostProcess | undefined,
  workers: WorkerProcess[],
): Promise<void> {
  for (const worker of workers) worker.process.kill("SIGKILL");
  host?.process.kill("SIGKILL");
  await Promise.all([...workers.map((x) => x.exited), host?.exited]);
}

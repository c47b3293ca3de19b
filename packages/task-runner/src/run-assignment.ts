// Runs one assignment on a worker: the job rebuilt from its bundle, the sandboxed map or reduce, its signed result report.
import { sign } from "node:crypto";
import type { Agent } from "node:http";
import { join } from "node:path";
import { privateKeyObject } from "@tormr/crypto/keys";
import type { CounterRecord } from "@tormr/mapreduce/counters";
import { MapReduceError } from "@tormr/mapreduce/errors";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { type Launcher, shellLauncher } from "@tormr/mapreduce/streaming-process";
import { TaskFailure } from "@tormr/mapreduce/task-failure";
import type { ByteMeter } from "@tormr/protocol/store-client";
import type { SealedOutput } from "@tormr/protocol/task-exchange";
import {
  type Assignment,
  type ReadBucket,
  type ResultClaims,
  type ResultRequest,
  resultStatement,
  type SandboxRecord,
  type WorkerJob,
} from "@tormr/protocol/worker-api";
import type { Sandbox, SandboxLimits } from "@tormr/sandbox/sandbox";
import { sandboxLauncher } from "./sandbox-launcher.ts";
import { runSealedMap, runSealedReduce, type WorkerIdentity } from "./sealed-task.ts";

export type AssignmentResult = ResultRequest extends infer R
  ? R extends { outcome: "succeeded" | "failed" }
    ? Omit<R, "v">
    : never
  : never;

export interface AssignmentRun {
  job: WorkerJob;
  /** Where the job's code bundle was unpacked (checked against its digest). */
  codeDir: string;
  assignment: Assignment;
  identity: WorkerIdentity;
  /** An empty folder of this attempt's own; the caller removes it afterwards. */
  taskDir: string;
  /** The sandbox the job's programs run in, or none (`--unsafe-no-sandbox`). */
  sandbox?: { sandbox: Sandbox; limits: SandboxLimits; image: string };
  /** The transport to the bucket store, e.g. a SOCKS agent for Tor. */
  agent?: Agent;
  onStatus?: (status: string) => void;
  /** Counts the bytes the attempt downloads and uploads, as it runs. */
  meter?: ByteMeter;
  /** Aborting kills the attempt's programs; the attempt then fails (the caller knows why). */
  signal?: AbortSignal;
}

/** Wraps a launcher so that every program it started can be killed at once. */
function killable(launch: Launcher, signal: AbortSignal | undefined): Launcher {
  if (!signal) return launch;
  return (command, options) => {
    const program = launch(command, options);
    if (signal.aborted) program.kill();
    else signal.addEventListener("abort", () => program.kill(), { once: true });
    return program;
  };
}

/** The job as the engine takes it: the bundle's files in place of the requester's paths. */
export function localJobSpec(job: WorkerJob, codeDir: string): JobSpec {
  return {
    id: job.id,
    // The worker never reads inputs by path: every segment comes from its sealed bucket.
    inputs: ["/nonexistent-input"],
    output: "/nonexistent-output",
    task:
      job.task.kind === "js" ? { kind: "js", module: join(codeDir, job.task.module) } : job.task,
    numReduceTasks: job.numReduceTasks,
    files: job.files.map((name) => join(codeDir, name)),
    cmdenv: job.cmdenv,
    conf: job.conf,
  };
}

/** Runs the assignment to its end and says how it went; it never throws for a task's own failure. */
export async function runAssignment(run: AssignmentRun): Promise<AssignmentResult> {
  const { assignment } = run;
  const record: SandboxRecord = { kind: run.sandbox?.sandbox.kind ?? "none" };
  const launch = killable(
    run.sandbox
      ? sandboxLauncher(run.sandbox.sandbox, {
          limits: run.sandbox.limits,
          image: run.sandbox.image,
          onSpawn: (child) => {
            if (child.containerId) record.containerId = child.containerId;
          },
        })
      : shellLauncher,
    run.signal,
  );
  const job = localJobSpec(run.job, run.codeDir);
  const common = {
    job,
    attempt: assignment.attempt,
    taskDir: run.taskDir,
    ...(run.onStatus ? { onStatus: run.onStatus } : {}),
    launch,
  };
  const exchange = { ...assignment.exchange };
  // The worker vouches for what it read and wrote with its signing key: the job host commits
  // nothing it cannot verify, and keeps the statement for the requester's _PROVENANCE.json.
  const succeeded = (
    result: { sealed: SealedOutput[]; counters: CounterRecord; read: ReadBucket[] },
    outputRecords: number,
  ): AssignmentResult => {
    const claims: ResultClaims = {
      job: run.job.id,
      task: `${assignment.type === "map" ? "m" : "r"}${assignment.index}`,
      attempt: assignment.attempt,
      attemptId: assignment.attemptId,
      code: run.job.codeDigest,
      inputs: result.read,
      outputs: result.sealed,
      counters: result.counters,
      outputRecords,
    };
    const statement = resultStatement(claims);
    return {
      outcome: "succeeded",
      outputs: result.sealed,
      counters: result.counters,
      outputRecords,
      sandbox: record,
      inputs: result.read,
      signature: sign(null, statement, privateKeyObject(run.identity.signing)).toString(
        "base64url",
      ),
    };
  };
  const access = {
    ...(run.agent ? { agent: run.agent } : {}),
    ...(run.meter ? { meter: run.meter } : {}),
  };
  try {
    if (assignment.type === "map") {
      const split = {
        index: assignment.index,
        bytes: 0,
        segments: assignment.segments.map((s) => ({
          path: s.name,
          start: s.start,
          end: s.start + s.length,
        })),
      };
      const result = await runSealedMap(
        { ...common, split, outputDir: join(run.taskDir, "out") },
        exchange,
        run.identity,
        access,
      );
      const outputRecords = result.sealed.reduce((sum, o) => sum + o.records, 0);
      return succeeded(result, outputRecords);
    }
    const result = await runSealedReduce(
      {
        ...common,
        partition: assignment.index,
        inputs: [],
        outputPath: join(run.taskDir, "part"),
      },
      exchange,
      run.identity,
      access,
    );
    return succeeded(result, result.records);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    const reason = /over its sandbox's (\w+) limit/.exec(e.message)?.[1];
    return {
      outcome: "failed",
      error: {
        code:
          e instanceof MapReduceError ? e.code : ((e as { code?: string }).code ?? "ERR_INTERNAL"),
        message: e.message.slice(0, 4000),
        exitCode: e instanceof TaskFailure ? e.exitCode : null,
        stderrTail: (e instanceof TaskFailure ? e.stderrTail : (e.stack ?? "")).slice(-16_000),
        ...(reason ? { reason } : {}),
      },
      sandbox: record,
    };
  }
}

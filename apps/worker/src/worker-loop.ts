// The worker's task loop: join a job with a ticket, then poll, run, heartbeat and report until the job is over.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import type { Agent } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Assignment, WorkerJob } from "@tormr/protocol/worker-api";
import { WorkerApiError, WorkerClient } from "@tormr/protocol/worker-client";
import type { Sandbox, SandboxLimits } from "@tormr/sandbox/sandbox";
import { type AssignmentResult, runAssignment } from "@tormr/task-runner/run-assignment";
import type { WorkerIdentity } from "./identity.ts";
import { fetchCode, folderBytes, removeLeftovers } from "./work-files.ts";

export interface WorkerLoopOptions {
  /** The job host's worker URL, e.g. `http://127.0.0.1:7311`. */
  jobHost: string;
  /** The one-time join ticket. */
  ticket: string;
  identity: WorkerIdentity;
  /** Per-task folders are made and removed inside it. */
  workDir: string;
  /** Tasks run at once. */
  slots: number;
  /** Absent only with `--unsafe-no-sandbox`. */
  sandbox?: Sandbox;
  limits: SandboxLimits;
  /** Advertised to the job host. */
  memoryBytes: number;
  /** The job's image name to a local image; throws (naming why) when it is not allowed. */
  resolveImage: (image: string) => Promise<string>;
  /** Sees the job after the challenge and before joining; throwing refuses the job. */
  beforeJoin?: (job: WorkerJob) => void | Promise<void>;
  /** Aborting stops the worker gracefully: running tasks are handed back, then it leaves. */
  signal?: AbortSignal;
  onEvent?: (event: WorkerEvent) => void;
  /** The transport's agent (a TorAgent over Tor); node's own when absent. */
  agent?: Agent;
  /** Over Tor: the client-authorization public key the job host should let in (sent when joining). */
  clientAuth?: string;
  /** How long a call to the job host may take (longer over Tor). */
  callTimeoutMs?: number;
  /**
   * The most the work folder may hold while a task runs: a task that goes over is stopped and
   * reported failed with reason "disk". Default: no bound beyond the disk itself.
   */
  diskQuotaBytes?: number;
  /** How long the job host may stay unreachable before the worker gives up. Default 5 minutes. */
  patienceMs?: number;
  /**
   * How long the first call may keep failing to reach the job host before the worker gives up.
   * Over Tor a fresh onion's descriptor or circuit can take a while; default 0 (fail at once).
   */
  joinPatienceMs?: number;
  /**
   * A worker the board seated may reach the onion while it is being re-published with the
   * worker's key, and an HSDir still serves the one before: tor's refusals of the key (0xF4,
   * 0xF5) are then waited out for `patienceMs`, `refresh` dropping tor's copy of the descriptor
   * before each try. Without it they are final (the worker is not in the cluster).
   */
  admission?: { patienceMs: number; refresh: () => Promise<void> };
}

export type WorkerEvent =
  | { type: "joined"; job: WorkerJob; pseudonym: string }
  | { type: "task-started"; attemptId: string; task: string; attempt: number }
  | { type: "task-status"; attemptId: string; status: string }
  | {
      type: "task-finished";
      attemptId: string;
      task: string;
      outcome: "succeeded" | "failed" | "cancelled" | "returned";
      message?: string;
      durationMs: number;
      bytesIn: number;
      bytesOut: number;
    }
  | { type: "left"; reason: string };

export interface WorkerLoopSummary {
  reason: string;
  succeeded: number;
  failed: number;
}

/** Errors after which asking again cannot help. */
const FINAL_CODES = new Set(["ERR_SESSION", "ERR_WORKER_REMOVED", "ERR_PROTOCOL_VERSION"]);

export async function runWorkerLoop(options: WorkerLoopOptions): Promise<WorkerLoopSummary> {
  const client = new WorkerClient({
    baseUrl: options.jobHost,
    ...(options.agent ? { agent: options.agent } : {}),
    ...(options.callTimeoutMs ? { timeoutMs: options.callTimeoutMs } : {}),
  });
  const emit = (event: WorkerEvent) => options.onEvent?.(event);
  const { challenge, job } = await untilReachable(
    () => client.challenge(options.ticket),
    options.joinPatienceMs ?? 0,
    options.signal,
    options.admission,
  );
  await options.beforeJoin?.(job);
  const image = await options.resolveImage(job.image);
  const joined = await client.join(
    options.ticket,
    challenge,
    options.identity,
    {
      sandbox: options.sandbox?.kind ?? "none",
      slots: options.slots,
      memoryBytes: options.memoryBytes,
    },
    options.clientAuth,
  );
  emit({ type: "joined", job, pseudonym: joined.pseudonym });

  await mkdir(options.workDir, { recursive: true, mode: 0o700 });
  await removeLeftovers(options.workDir);
  const codeDir = await fetchCode(client, job, options.workDir);
  const summary: WorkerLoopSummary = { reason: "", succeeded: 0, failed: 0 };
  // One controller ends every lane: the job is over, the worker was removed, or SIGTERM.
  const stop = new AbortController();
  const stopWith = (reason: string) => {
    if (!stop.signal.aborted) {
      summary.reason = reason;
      stop.abort();
    }
  };
  options.signal?.addEventListener("abort", () => stopWith("stopped"), { once: true });
  if (options.signal?.aborted) stopWith("stopped");

  const lane = async () => {
    let unreachableSince: number | undefined;
    while (!stop.signal.aborted) {
      let next: Awaited<ReturnType<WorkerClient["next"]>>;
      try {
        next = await client.next(stop.signal);
        unreachableSince = undefined;
      } catch (error) {
        if (stop.signal.aborted) return;
        if (error instanceof WorkerApiError && FINAL_CODES.has(error.code)) {
          stopWith(error.message);
          return;
        }
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > (options.patienceMs ?? 300_000)) {
          stopWith(`the job host stayed unreachable: ${(error as Error).message}`);
          return;
        }
        await sleep(Math.min(joined.heartbeatMs, 2_000));
        continue;
      }
      if (next.state === "done") {
        stopWith(next.reason ?? "the job is over");
        return;
      }
      if (next.state === "task" && next.task) {
        const outcome = await runOne(next.task);
        if (outcome === "succeeded") summary.succeeded++;
        else if (outcome === "failed") summary.failed++;
      }
    }
  };

  const runOne = async (assignment: Assignment) => {
    const task = `${assignment.type === "map" ? "m" : "r"}${assignment.index}`;
    const started = performance.now();
    emit({
      type: "task-started",
      attemptId: assignment.attemptId,
      task,
      attempt: assignment.attempt,
    });
    const taskDir = await mkdtemp(join(options.workDir, "attempt-"));
    const cancel = new AbortController();
    let cancelReason: string | undefined;
    let status: string | undefined;
    let overQuota = false;
    const meter = { bytesIn: 0, bytesOut: 0 };
    const beat = setInterval(() => {
      if (options.diskQuotaBytes !== undefined) {
        void folderBytes(options.workDir).then((used) => {
          if (
            used > (options.diskQuotaBytes ?? Number.POSITIVE_INFINITY) &&
            !cancel.signal.aborted
          ) {
            overQuota = true;
            cancel.abort();
          }
        });
      }
      client
        .heartbeat(assignment.attemptId, { ...(status ? { status } : {}), ...meter })
        .then((answer) => {
          if (answer.cancel) {
            cancelReason = answer.reason ?? "cancelled by the job host";
            cancel.abort();
          }
        })
        // A missed heartbeat is retried at the next tick; the job host tolerates a few.
        .catch(() => {});
    }, joined.heartbeatMs);
    const handBack = () => cancel.abort();
    stop.signal.addEventListener("abort", handBack, { once: true });
    let result: AssignmentResult | undefined;
    try {
      result = await runAssignment({
        job,
        codeDir,
        assignment,
        identity: options.identity,
        taskDir,
        ...(options.sandbox
          ? { sandbox: { sandbox: options.sandbox, limits: options.limits, image } }
          : {}),
        ...(options.agent ? { agent: options.agent } : {}),
        signal: cancel.signal,
        meter,
        onStatus: (line) => {
          status = line;
          emit({ type: "task-status", attemptId: assignment.attemptId, status: line });
        },
      });
    } finally {
      clearInterval(beat);
      stop.signal.removeEventListener("abort", handBack);
      await rm(taskDir, { recursive: true, force: true });
    }
    const finished = (
      outcome: "succeeded" | "failed" | "cancelled" | "returned",
      message?: string,
    ) => {
      emit({
        type: "task-finished",
        attemptId: assignment.attemptId,
        task,
        outcome,
        ...(message ? { message } : {}),
        durationMs: performance.now() - started,
        bytesIn: meter.bytesIn,
        bytesOut: meter.bytesOut,
      });
      return outcome;
    };
    if (cancelReason) return finished("cancelled", cancelReason);
    if (overQuota) {
      const message = `the task went over this worker's disk quota of ${options.diskQuotaBytes} bytes`;
      await report(
        client,
        assignment.attemptId,
        {
          outcome: "failed",
          error: {
            code: "ERR_DISK_QUOTA",
            message,
            exitCode: null,
            stderrTail: "",
            reason: "disk",
          },
          sandbox: result.sandbox,
        },
        options.patienceMs,
      );
      return finished("failed", message);
    }
    if (cancel.signal.aborted) {
      await report(client, assignment.attemptId, { outcome: "returned" }, options.patienceMs);
      return finished("returned", "handed back: the worker is stopping");
    }
    await report(client, assignment.attemptId, result, options.patienceMs);
    return result.outcome === "succeeded"
      ? finished("succeeded")
      : finished("failed", result.error.message);
  };

  await Promise.all(Array.from({ length: options.slots }, lane));
  await client.leave().catch(() => {});
  // The job's code is of no use once the job is over for this worker.
  await rm(codeDir, { recursive: true, force: true });
  await rm(`${codeDir}.verified`, { recursive: true, force: true });
  emit({ type: "left", reason: summary.reason });
  return summary;
}

/** tor's answers that no retry changes: no key or the wrong key for the onion, a bad address. */
const FINAL_SOCKS_REPLIES = new Set([0xf4, 0xf5, 0xf6]);

/** Calls `call` until it reaches the job host, for up to `patienceMs`; refusals are thrown at once. */
async function untilReachable<T>(
  call: () => Promise<T>,
  patienceMs: number,
  signal: AbortSignal | undefined,
  admission?: WorkerLoopOptions["admission"],
): Promise<T> {
  const since = Date.now();
  for (let failures = 1; ; failures++) {
    try {
      return await call();
    } catch (error) {
      const away = error instanceof WorkerApiError && error.status === 0;
      const reply = (error as { cause?: { socksReply?: number } }).cause?.socksReply;
      const refused = reply === 0xf4 || reply === 0xf5;
      const waited = Date.now() - since;
      const final =
        reply !== undefined &&
        FINAL_SOCKS_REPLIES.has(reply) &&
        !(refused && admission && waited < admission.patienceMs);
      if (!away || final || signal?.aborted || (waited > patienceMs && !refused)) throw error;
      if (refused) await admission?.refresh();
      await sleep(Math.min(5_000, 250 * 2 ** failures));
    }
  }
}

/** Reports a result, retrying while the job host is unreachable (it may be restarting). */
async function report(
  client: WorkerClient,
  attemptId: string,
  result: Parameters<WorkerClient["result"]>[1],
  patienceMs = 300_000,
): Promise<void> {
  const since = Date.now();
  for (;;) {
    try {
      await client.result(attemptId, result);
      return;
    } catch (error) {
      // A refusal (the attempt is over, the result is bad) is the job host's last word on it.
      if (error instanceof WorkerApiError && error.status >= 400) return;
      if (Date.now() - since > patienceMs) return;
      await sleep(1_000);
    }
  }
}

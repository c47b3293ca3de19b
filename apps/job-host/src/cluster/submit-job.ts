// Submits a job to a running `tormr host` through its admin API, prints the join tickets, and follows the job to its end.
import { setTimeout as sleep } from "node:timers/promises";
import { MapReduceError, type MapReduceErrorCode } from "@tormr/mapreduce/errors";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { AdminClient, AdminError } from "@tormr/protocol/admin-client";
import { HostNotRunning } from "@tormr/protocol/host-endpoints";
import type { JobProgress, JobResult } from "../local/types.ts";
import { progressOf } from "../master/job-status.ts";

export interface SubmitOptions {
  /** The running job host's state folder. */
  stateDir: string;
  /** Join tickets to make, one per volunteer's worker. */
  tickets: number;
  /**
   * The cluster size expected (`--workers`), which an exposure cap is checked against; default:
   * the tickets, when there are any (0 tickets: the board's request decides, unknown here).
   */
  workers?: number;
  /** Where the worker URL and the tickets are printed. */
  print: (line: string) => void;
  onProgress?: (progress: JobProgress) => void;
  /** Aborting cancels the job on the host. */
  signal?: AbortSignal;
  pollMs?: number;
}

const ENGINE_CODES = new Set<MapReduceErrorCode>([
  "ERR_INPUT_MISSING",
  "ERR_INPUT_EMPTY",
  "ERR_OUTPUT_EXISTS",
  "ERR_BAD_JOB_SPEC",
  "ERR_BAD_CONF",
  "ERR_NOT_EXECUTABLE",
  "ERR_BAD_JOB_MODULE",
]);

export async function submitJob(spec: JobSpec, options: SubmitOptions): Promise<JobResult> {
  const started = performance.now();
  const host = await AdminClient.fromStateDir(options.stateDir);
  const workers = options.workers ?? (options.tickets > 0 ? options.tickets : undefined);
  const created = await refused("submitting the job", () =>
    host.createJob({ spec, tickets: options.tickets, ...(workers ? { workers } : {}) }),
  );
  options.print(
    created.tickets.length > 0
      ? `job ${spec.id} is on the job host; give each volunteer one of these:`
      : `job ${spec.id} is on the job host, with no tickets: its workers come from the board request it follows (tormr host --request)`,
  );
  for (const ticket of created.tickets) {
    options.print(`  tormr-worker start --job-host ${host.workerUrl} --ticket ${ticket}`);
  }
  const onAbort = () => void host.cancel(spec.id).catch(() => {});
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const status = await refused("following the job", () => host.status(spec.id));
      options.onProgress?.(progressOf(status));
      if (status.state === "cancelled") {
        throw new MapReduceError("ERR_CANCELLED", `job ${spec.id} was cancelled`);
      }
      if (status.state === "failed") {
        throw new MapReduceError("ERR_JOB_FAILED", status.error ?? `job ${spec.id} failed`);
      }
      if (status.state === "succeeded") {
        const parts = await refused("listing the output", () => host.outputParts(spec.id));
        return {
          jobId: spec.id,
          output: spec.output,
          parts: parts.map((part) => `${spec.output}/${part}`),
          counters: status.counters,
          maps: status.maps.total,
          reduces: status.reduces.total,
          failedAttempts: status.failedAttempts,
          durationMs: performance.now() - started,
        };
      }
      await sleep(options.pollMs ?? 500);
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Runs one admin call. The job host checked the job with the engine's own rules: their codes stay
 * engine errors (and keep their exit codes); a host that does not answer is a host not running.
 */
async function refused<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof AdminError)) throw error;
    if (ENGINE_CODES.has(error.code as MapReduceErrorCode)) {
      throw new MapReduceError(error.code as MapReduceErrorCode, error.message);
    }
    if (error.code === "ERR_HOST_UNREACHABLE") throw new HostNotRunning(error.message);
    throw new Error(`the job host refused ${what}: ${error.message}`, { cause: error });
  }
}

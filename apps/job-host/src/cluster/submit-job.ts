// Submits a job to a running `tormr host` through its admin API, prints the join tickets, and follows the job to its end.
import { setTimeout as sleep } from "node:timers/promises";
import { MapReduceError, type MapReduceErrorCode } from "@tormr/mapreduce/errors";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import type { JobProgress, JobResult } from "../local/types.ts";
import { readEndpoints } from "../master/host-endpoints.ts";
import { type JobStatus, progressOf } from "../master/job-status.ts";

export interface SubmitOptions {
  /** The running job host's state folder. */
  stateDir: string;
  /** Join tickets to make, one per volunteer's worker. */
  tickets: number;
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
  const host = await readEndpoints(options.stateDir);
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${host.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${host.adminSecret}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 400) {
      const code = String(json.code);
      const message = String(json.message ?? `the job host answered ${res.status}`);
      // The job host checked the job with the engine's own rules: keep their codes and exit codes.
      if (ENGINE_CODES.has(code as MapReduceErrorCode)) {
        throw new MapReduceError(code as MapReduceErrorCode, message);
      }
      throw new Error(`the job host refused ${method} ${path}: ${message}`);
    }
    return json;
  };
  const created = (await call("POST", "/admin/jobs", { spec, tickets: options.tickets })) as {
    tickets: string[];
  };
  options.print(
    created.tickets.length > 0
      ? `job ${spec.id} is on the job host; give each volunteer one of these:`
      : `job ${spec.id} is on the job host, with no tickets: its workers come from the board request it follows (tormr host --request)`,
  );
  for (const ticket of created.tickets) {
    options.print(`  tormr-worker start --job-host ${host.workerUrl} --ticket ${ticket}`);
  }
  const onAbort = () => void call("POST", `/admin/jobs/${spec.id}/cancel`).catch(() => {});
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      const status = (await call("GET", `/admin/jobs/${spec.id}`)) as unknown as JobStatus;
      options.onProgress?.(progressOf(status));
      if (status.state === "cancelled") {
        throw new MapReduceError("ERR_CANCELLED", `job ${spec.id} was cancelled`);
      }
      if (status.state === "failed") {
        throw new MapReduceError("ERR_JOB_FAILED", status.error ?? `job ${spec.id} failed`);
      }
      if (status.state === "succeeded") {
        const { parts } = (await call("GET", `/admin/jobs/${spec.id}/output`)) as {
          parts: string[];
        };
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

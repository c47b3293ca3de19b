// Test helper: real worker task loops, in this process, joined to an in-process job host with fresh tickets.
import { join } from "node:path";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import { runWorkerLoop, type WorkerEvent, type WorkerLoopSummary } from "@tormr/worker/worker-loop";
import type { JobHost } from "../src/master/job-host.ts";

/** Joins `n` workers (no sandbox: the host's own test programs) to `jobId` and runs them to the job's end. */
export async function joinWorkers(
  host: JobHost,
  jobId: string,
  n: number,
  dir: string,
  onEvent?: (pseudonym: string, event: WorkerEvent) => void,
  /** Aborting stops the workers: their tasks are handed back and they leave. */
  signal?: AbortSignal,
): Promise<WorkerLoopSummary[]> {
  const tickets = await host.master.createTickets(jobId, n);
  return Promise.all(
    tickets.map(async (ticket, i) => {
      const { identity } = await loadOrCreateIdentity(join(dir, `worker-${jobId}-${i}`));
      return runWorkerLoop({
        jobHost: host.workerUrl,
        ticket,
        identity,
        workDir: join(dir, `work-${jobId}-${i}`),
        slots: 1,
        limits: { memoryBytes: 512 * 1024 ** 2, cpus: 1, pids: 64, tmpfsBytes: 64 * 1024 ** 2 },
        memoryBytes: 512 * 1024 ** 2,
        resolveImage: async (image) => image,
        ...(onEvent ? { onEvent: (event: WorkerEvent) => onEvent(identity.pseudonym, event) } : {}),
        ...(signal ? { signal } : {}),
      });
    }),
  );
}

// Everything the job page shows, gathered from the job host in one go.
import type { AdminClient } from "@tormr/protocol/admin-client";
import { jobTickets } from "./job-tickets.ts";
import { localWorkers } from "./local-worker-registry.ts";

export async function jobView(admin: AdminClient, jobId: string) {
  const [status, attempts, exposure, spec] = await Promise.all([
    admin.status(jobId),
    admin.attempts(jobId),
    admin.exposure(jobId),
    admin.spec(jobId),
  ]);
  const parts = status.state === "succeeded" ? await admin.outputParts(jobId) : [];
  const board = await admin.boardOf(jobId);
  return {
    status,
    attempts,
    exposure,
    spec: spec as { task?: { kind?: string; mapper?: string; reducer?: string; module?: string } },
    parts,
    board,
    local: localWorkers(jobId),
    tickets: jobTickets(jobId),
    workerUrl: admin.workerUrl,
    now: new Date().toISOString(),
  };
}

export type JobView = Awaited<ReturnType<typeof jobView>>;

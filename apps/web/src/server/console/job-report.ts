// A finished (or running) job's report as JSON: state, timings, counters, tasks and attempts, and who saw how much of the data against its exposure cap.
import type { AdminClient } from "@tormr/protocol/admin-client";

export async function jobReport(admin: AdminClient, jobId: string) {
  const [status, attempts, exposure] = await Promise.all([
    admin.status(jobId),
    admin.attempts(jobId),
    admin.exposure(jobId),
  ]);
  const end = status.finishedAt ? Date.parse(status.finishedAt) : Date.now();
  const share = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
  return {
    job: status.id,
    state: status.state,
    error: status.error,
    createdAt: status.createdAt,
    finishedAt: status.finishedAt,
    durationMs: end - Date.parse(status.createdAt),
    maps: status.maps,
    reduces: status.reduces,
    failedAttempts: status.failedAttempts,
    counters: status.counters,
    attempts: attempts.map((a) => ({
      ...a,
      durationMs: a.finishedAt ? Date.parse(a.finishedAt) - Date.parse(a.startedAt) : null,
    })),
    // With its cap, collusion k and the shares reached (one worker, and any k) on both sides.
    exposure: {
      ...exposure,
      workers: exposure.workers.map((w) => ({
        ...w,
        inputRecordShare: share(w.input.records, exposure.input.records),
        inputByteShare: share(w.input.bytes, exposure.input.bytes),
        mapOutputRecordShare: share(w.mapOutput.records, exposure.mapOutput.records),
      })),
    },
  };
}

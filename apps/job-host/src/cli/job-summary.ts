// The report printed when a job succeeds: outcome, task counts, counters and output folder.
import type { JobResult } from "../local/types.ts";
import { formatCountersTable } from "./counters-table.ts";

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${String(seconds % 60).padStart(2, "0")} s`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

export function formatJobSummary(result: JobResult): string[] {
  const tasks = [plural(result.maps, "map task"), plural(result.reduces, "reduce task")];
  if (result.failedAttempts > 0) {
    tasks.push(`${plural(result.failedAttempts, "failed attempt")} retried`);
  }
  return [
    `Job ${result.jobId} completed successfully in ${formatDuration(result.durationMs)}`,
    `  ${tasks.join(", ")}`,
    ...(result.jobHostUrl ? [`  job host: ${result.jobHostUrl}`] : []),
    ...formatCountersTable(result.counters),
    `Output directory: ${result.output} (${plural(result.parts.length, "part file")})`,
  ];
}

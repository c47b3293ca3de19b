// What the volunteer is shown about a job before joining it: id, code digest, image and commands.
import type { WorkerJob } from "@tormr/protocol/worker-api";
import { printable } from "./printable.ts";

/** The programs the job will run, by role. The job's own text, so callers escape it for terminals. */
export function jobCommands(job: WorkerJob): Record<string, string> {
  if (job.task.kind === "js") return { module: job.task.module };
  const commands: Record<string, string> = { mapper: job.task.mapper };
  if (job.task.combiner !== undefined) commands.combiner = job.task.combiner;
  if (job.task.reducer !== undefined) commands.reducer = job.task.reducer;
  return commands;
}

/** The fields a JSON log line carries (never cmdenv or conf: they may hold the requester's secrets). */
export function jobFields(job: WorkerJob) {
  return {
    jobId: job.id,
    codeDigest: job.codeDigest,
    codeBytes: job.codeBytes,
    image: job.image,
    commands: jobCommands(job),
    numReduceTasks: job.numReduceTasks,
  };
}

/** Aligned lines for a terminal, every value made printable. */
export function jobPreviewLines(job: WorkerJob, sandbox: string): string[] {
  const rows: Array<[string, string]> = [
    ["image", job.image],
    ["code", `sha256:${job.codeDigest} (${formatBytes(job.codeBytes)})`],
    ...Object.entries(jobCommands(job)),
    ["reduces", String(job.numReduceTasks)],
    ["sandbox", sandbox],
  ];
  return [
    `Job ${printable(job.id)} asks to run on this worker:`,
    ...rows.map(([label, value]) => `  ${label.padEnd(9)}${printable(value, 200)}`),
  ];
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** The sandbox line of the preview: what the job's programs get. */
export function sandboxDescription(
  kind: "docker" | "bwrap" | undefined,
  limits: { memoryMb: number; cpus: number; pids: number },
): string {
  if (kind === undefined) return "NONE (--unsafe-no-sandbox): the code runs as you";
  const cpus = `${limits.cpus} CPU${limits.cpus === 1 ? "" : "s"}`;
  return `${kind}, no network; each task ${limits.memoryMb} MiB, ${cpus}, ${limits.pids} processes`;
}

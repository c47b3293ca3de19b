// `tormr-worker status`: what the worker in a work folder is doing, from the status.json that `start` keeps.
import { join, resolve } from "node:path";
import { CONFIG_FILE, loadConfig } from "../config.ts";
import { pidAlive, readStatus, STATUS_FILE } from "../status-file.ts";
import type { WorkerStatus } from "../worker-status.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import type { CliIo } from "./io.ts";
import { formatBytes } from "./job-preview.ts";
import { printable } from "./printable.ts";

export interface StatusFlags {
  workDir?: string;
  config?: string;
  configDir?: string;
  json?: boolean;
}

/** 0 when a worker is running there, 7 when none is. */
export async function statusCommand(flags: StatusFlags, io: CliIo): Promise<ExitCode> {
  const configDir = flags.configDir ? resolve(io.cwd, flags.configDir) : io.env.configDir;
  const config = await loadConfig({
    path: flags.config ? resolve(io.cwd, flags.config) : join(configDir, CONFIG_FILE),
    explicit: flags.config !== undefined,
    flags: flags.workDir === undefined ? {} : { workDir: flags.workDir },
    cwd: io.cwd,
    defaultWorkDir: io.env.cacheDir,
  });
  const file = join(config.workDir, STATUS_FILE);
  const status = await readStatus(config.workDir);
  const alive = status !== undefined && status.state !== "left" && pidAlive(status.pid);
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify({ statusFile: file, alive, status: status ?? null })}\n`);
  } else if (status === undefined) {
    io.stdout.write(`no worker has run in ${config.workDir} (no ${STATUS_FILE})\n`);
  } else {
    io.stdout.write(`${statusLines(status, alive, io.now()).join("\n")}\n`);
  }
  return alive ? EXIT.ok : EXIT.notRunning;
}

export function statusLines(status: WorkerStatus, alive: boolean, now: Date): string[] {
  const ago = Math.max(0, Math.round((now.getTime() - Date.parse(status.updatedAt)) / 1000));
  const worker = alive
    ? `running (pid ${status.pid})`
    : status.state === "left"
      ? `not running: left${status.reason ? `: ${printable(status.reason)}` : ""}`
      : `not running: pid ${status.pid} is gone (it did not leave cleanly)`;
  const { succeeded, failed, cancelled, returned } = status.counts;
  const running = status.running.map(
    (task) =>
      `  ${task.task} attempt ${task.attempt}${task.status ? `: ${printable(task.status, 120)}` : ""}`,
  );
  return [
    `worker     ${worker}`,
    `state      ${status.state}`,
    ...(status.board ? [`board      ${status.board.url}: ${boardActivity(status)}`] : []),
    status.jobHost === undefined
      ? "job        (none yet)"
      : `job        ${status.jobId ?? "(not joined yet)"} at ${status.jobHost}`,
    `pseudonym  ${status.pseudonym}`,
    `sandbox    ${status.sandbox}, ${status.slots} slot${status.slots === 1 ? "" : "s"}`,
    `tasks      ${status.running.length} running; ${succeeded} succeeded, ${failed} failed, ` +
      `${cancelled} cancelled, ${returned} handed back`,
    ...running,
    `bytes      in ${formatBytes(status.bytesIn)}, out ${formatBytes(status.bytesOut)}`,
    `updated    ${status.updatedAt} (${ago} s ago)`,
  ];
}

/** What a board-mode worker is doing: waiting on the board for a seat, or in a job. */
function boardActivity(status: WorkerStatus): string {
  switch (status.state) {
    case "starting":
      return "registering";
    case "waiting":
      return "waiting on board";
    case "joining":
    case "running":
      return "in job";
    default:
      return status.state;
  }
}

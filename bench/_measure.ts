// Runs one command to completion, timing it and tracking the peak memory of its process tree.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { open, readFile } from "node:fs/promises";
import { type PeakProcess, watchProcessTree } from "./_process-tree.ts";

export interface Measurement {
  seconds: number;
  peak: PeakProcess;
  /** Exit code, or the signal's name if it was killed. */
  exit: number | string;
  /** The last lines the command printed, kept for failures. */
  tail: string;
}

export interface CommandSpec {
  command: string;
  args: string[];
  cwd: string;
  /** Where its stdout and stderr go, so the bench's own table stays readable. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

export async function measure(spec: CommandSpec): Promise<Measurement> {
  const log = await open(spec.logFile, "w");
  const started = performance.now();
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      stdio: ["ignore", log.fd, log.fd],
      ...(spec.env ? { env: spec.env } : {}),
    });
    const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
    const spawned = await Promise.race([
      once(child, "spawn").then(() => true),
      exited.then(() => false),
    ]);
    const watcher = spawned && child.pid !== undefined ? watchProcessTree(child.pid) : undefined;
    const [code, signal] = await exited;
    const seconds = (performance.now() - started) / 1000;
    const peak = watcher?.stop() ?? { pid: 0, command: "", bytes: 0 };
    const text = await readFile(spec.logFile, "utf8").catch(() => "");
    const tail = text.trimEnd().split("\n").slice(-8).join("\n");
    return { seconds, peak, exit: code ?? signal ?? "unknown", tail };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      seconds: (performance.now() - started) / 1000,
      peak: { pid: 0, command: "", bytes: 0 },
      exit: "spawn failed",
      tail: message,
    };
  } finally {
    await log.close();
  }
}

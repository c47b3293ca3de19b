// Starts the workers the console runs on this machine for a job (to try a job before asking volunteers): real tormr-worker processes with one ticket each.
import { spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { constants } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { type Entry, registry } from "./local-worker-registry.ts";

/** The worker launcher of this source tree (apps/worker). */
const WORKER_BIN = fileURLToPath(
  new URL("../../../../worker/bin/tormr-worker.js", import.meta.url),
);

export interface StartLocalWorkersOptions {
  jobId: string;
  workerUrl: string;
  tickets: string[];
  sandbox: "bwrap" | "docker" | "none";
  /** Each worker's config and work folders go below it, and are removed when it exits. */
  dir: string;
  env?: NodeJS.ProcessEnv;
}

export async function startLocalWorkers(options: StartLocalWorkersOptions): Promise<void> {
  const list = registry().get(options.jobId) ?? [];
  registry().set(options.jobId, list);
  for (const ticket of options.tickets) {
    const index = list.length;
    const dir = join(options.dir, options.jobId, String(index));
    await mkdir(dir, { recursive: true });
    const args = [
      WORKER_BIN,
      "start",
      "--job-host",
      options.workerUrl,
      "--config-dir",
      join(dir, "config"),
      "--work-dir",
      join(dir, "work"),
      "--disk-quota-mb",
      "64",
      "--yes",
      ...(options.sandbox === "none" ? ["--unsafe-no-sandbox"] : ["--sandbox", options.sandbox]),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      // The ticket goes in the environment, never in the process list.
      env: { ...(options.env ?? process.env), TORMR_WORKER_TICKET: ticket },
    });
    const entry: Entry = {
      index,
      pid: child.pid,
      state: "running",
      exitCode: null,
      startedAt: new Date().toISOString(),
      tail: [],
      child,
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        entry.tail.push(line);
        if (entry.tail.length > 20) entry.tail.shift();
      });
    }
    const exited = (code: number | null) => {
      entry.state = "exited";
      entry.exitCode = code;
      void rm(dir, { recursive: true, force: true });
    };
    child.once("exit", (code, signal) =>
      exited(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : null)),
    );
    child.once("error", (error) => {
      entry.tail.push(`could not start: ${error.message}`);
      exited(127);
    });
    list.push(entry);
  }
}

/** Stops every local worker (the console is stopping): SIGTERM, so each leaves its job. */
export async function stopLocalWorkers(): Promise<void> {
  const running = [...registry().values()].flat().filter((w) => w.state === "running");
  await Promise.all(
    running.map(
      (w) =>
        new Promise<void>((resolve) => {
          w.child.once("exit", () => resolve());
          w.child.kill("SIGTERM");
          setTimeout(() => {
            w.child.kill("SIGKILL");
            resolve();
          }, 5_000).unref();
        }),
    ),
  );
}

// Starts what the console's specs need: a real `tormr host` process (short heartbeats) and `tormr console` beside it, opened once so that the specs share its session cookie.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { request } from "@playwright/test";
import { serveConsole } from "../src/cli/console.ts";

const TORMR = join(import.meta.dirname, "..", "..", "job-host", "bin", "tormr.js");

async function startHost(stateDir: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      TORMR,
      "host",
      "--state-dir",
      stateDir,
      "--json",
      "--heartbeat-ms",
      "300",
      "--timeout-ms",
      "3000",
      "--poll-ms",
      "1000",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const log: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) => {
    log.push(line);
    if (log.length > 50) log.shift();
  });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", () => resolve());
    child.once("exit", (code) =>
      reject(new Error(`tormr host exited with ${code}:\n${log.join("\n")}`)),
    );
  });
  return child;
}

/** Returns the teardown. Sets CONSOLE_URL, CONSOLE_OPEN_URL (spent), CONSOLE_STATE (cookie) and CONSOLE_HOST_DIR. */
export async function startConsole(outputDir: string): Promise<() => Promise<void>> {
  const stateDir = mkdtempSync(join(tmpdir(), "tormr-console-e2e-"));
  const host = await startHost(stateDir);
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let opened: (url: string) => void = () => {};
  const url = new Promise<string>((resolve) => {
    opened = resolve;
  });
  const serving = serveConsole({
    stateDir,
    port: 0,
    sandbox: "bwrap",
    say: (line) => process.stderr.write(`console: ${line}\n`),
    onUrl: opened,
    stopped,
  });
  const openUrl = await Promise.race([
    url,
    serving.then((code) =>
      Promise.reject(new Error(`the console stopped before it served (${code})`)),
    ),
  ]);
  const context = await request.newContext();
  const first = await context.get(openUrl);
  if (!first.ok())
    throw new Error(`opening the console failed: ${first.status()} ${await first.text()}`);
  const statePath = join(outputDir, "console-state.json");
  await context.storageState({ path: statePath });
  await context.dispose();
  process.env.CONSOLE_URL = new URL(openUrl).origin;
  process.env.CONSOLE_OPEN_URL = openUrl;
  process.env.CONSOLE_STATE = statePath;
  process.env.CONSOLE_HOST_DIR = stateDir;
  return async () => {
    stop();
    await serving;
    host.kill("SIGTERM");
    await new Promise((resolve) => host.once("exit", resolve));
    rmSync(stateDir, { recursive: true, force: true });
  };
}

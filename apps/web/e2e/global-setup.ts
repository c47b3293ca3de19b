// Runs the board for every spec as `tormr-board start --local` would (built if stale, a fresh state folder, loopback only), and a job host with its console (console-setup.ts); stops them afterwards.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serveBoard } from "../src/cli/serve.ts";
import { startConsole } from "./console-setup.ts";

export default async function globalSetup(): Promise<() => Promise<void>> {
  // Never skipped: without Chromium there is no browser test, and that fails the run.
  if (!existsSync("/usr/bin/chromium")) {
    throw new Error(
      "Chromium is not installed (/usr/bin/chromium), and the board's browser tests need it: run 'npm run setup'",
    );
  }
  const stateDir = mkdtempSync(join(tmpdir(), "tormr-board-e2e-"));
  // Clusters form within a third of a second, so the specs need not wait long.
  process.env.TORMR_BOARD_MATCH_MS = "300";
  let stop: () => void = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let ready: (url: string) => void = () => {};
  const served = new Promise<string>((resolve) => {
    ready = resolve;
  });
  const serving = serveBoard({
    stateDir,
    port: 0,
    torControl: undefined,
    registerBits: 8,
    postBits: 8,
    stopped,
    say: (line) => {
      const url = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
      const onion = /address would be http:\/\/([a-z2-7]{56})\.onion/.exec(line)?.[1];
      if (url) process.env.BOARD_URL = url;
      if (onion) {
        process.env.BOARD_ONION = onion;
        ready(process.env.BOARD_URL as string);
      }
    },
  });
  await Promise.race([
    served,
    serving.then((code) =>
      Promise.reject(new Error(`the board stopped before it served (${code})`)),
    ),
  ]);
  process.env.BOARD_DB = join(stateDir, "board.db");
  const stopConsole = await startConsole(join(import.meta.dirname, "..", "e2e-results"));
  return async () => {
    await stopConsole();
    stop();
    await serving;
    rmSync(stateDir, { recursive: true, force: true });
  };
}

// Starts the built board (`next start`) on a free loopback port with a fresh database, for every spec; stops it afterwards.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const NEXT_BIN = createRequire(import.meta.url).resolve("next/dist/bin/next");

export const BOARD_ONION = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  // Never skipped: without Chromium there is no browser test, and that fails the run.
  if (!existsSync("/usr/bin/chromium")) {
    throw new Error(
      "Chromium is not installed (/usr/bin/chromium), and the board's browser tests need it: run 'npm run setup'",
    );
  }
  const app = join(import.meta.dirname, "..");
  if (!existsSync(join(app, ".next", "BUILD_ID"))) {
    const built = spawnSync(process.execPath, [NEXT_BIN, "build"], {
      cwd: app,
      stdio: "inherit",
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    if (built.status !== 0) throw new Error("next build failed");
  }
  const dir = mkdtempSync(join(tmpdir(), "tormr-board-e2e-"));
  const port = await freePort();
  const env = {
    ...process.env,
    NEXT_TELEMETRY_DISABLED: "1",
    TORMR_BOARD_DB: join(dir, "board.db"),
    TORMR_BOARD_ONION: BOARD_ONION,
    TORMR_BOARD_POST_BITS: "8",
    TORMR_BOARD_REGISTER_BITS: "8",
    TORMR_BOARD_MATCH_MS: "300",
  };
  const server: ChildProcess = spawn(
    process.execPath,
    [NEXT_BIN, "start", "-H", "127.0.0.1", "-p", String(port)],
    { cwd: app, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  server.stdout?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  server.stderr?.on("data", (chunk: Buffer) => (log += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${url}/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (server.exitCode !== null || Date.now() > deadline) {
      server.kill("SIGKILL");
      throw new Error(`the board did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  process.env.BOARD_URL = url;
  process.env.BOARD_DB = env.TORMR_BOARD_DB;
  return async () => {
    // The server's own output, kept with the run's artifacts.
    mkdirSync(join(app, "e2e-results"), { recursive: true });
    writeFileSync(join(app, "e2e-results", "board-server.log"), log);
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  };
}

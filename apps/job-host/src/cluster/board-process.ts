// A bulletin board of this source tree (`tormr-board start`) for the demo and the tests: published through a tor, resolved once its onion is up.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const BOARD_BIN = fileURLToPath(new URL("../../../web/bin/tormr-board.js", import.meta.url));

export interface BoardProcess {
  /** The board's onion address, 56 characters. */
  onion: string;
  url: string;
  process: ChildProcess;
  /** Everything it printed. */
  log: string[];
  exited: Promise<number | null>;
  /** SIGTERM, and waits for it to withdraw its onion and exit. */
  stop(): Promise<void>;
}

export interface BoardProcessOptions {
  stateDir: string;
  /** tor's control port on 127.0.0.1. */
  controlPort: number;
  /** Stamp work in bits (default 12: cheap, as a demo's should be). */
  stampBits?: number;
  /** How often clusters are formed (TORMR_BOARD_MATCH_MS). */
  matchMs?: number;
  /** Each line it prints, as it prints it. */
  onLine?: (line: string) => void;
}

/** Starts the board (building it first if its build is stale) and waits for its onion. */
export async function startBoardProcess(options: BoardProcessOptions): Promise<BoardProcess> {
  const bits = String(options.stampBits ?? 12);
  const child = spawn(
    process.execPath,
    [
      BOARD_BIN,
      "start",
      "--state-dir",
      options.stateDir,
      "--tor-control",
      `127.0.0.1:${options.controlPort}`,
      "--register-bits",
      bits,
      "--post-bits",
      bits,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TORMR_BOARD_MATCH_MS: String(options.matchMs ?? 500) },
    },
  );
  const log: string[] = [];
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", resolve);
    child.once("error", () => resolve(127));
  });
  const onion = await new Promise<string>((resolve, reject) => {
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        log.push(line);
        options.onLine?.(line);
        const found = /onion: http:\/\/([a-z2-7]{56})\.onion/.exec(line)?.[1];
        if (found) resolve(found);
      });
    }
    void exited.then((code) =>
      reject(new Error(`tormr-board exited with ${code} before it served:\n${log.join("\n")}`)),
    );
  });
  return {
    onion,
    url: `http://${onion}.onion`,
    process: child,
    log,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

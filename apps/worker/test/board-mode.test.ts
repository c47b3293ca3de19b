// `tormr-worker start --board` against a real board (tormr-board start --local) on loopback: register, poll, restart, leave, ban.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const BOARD_BIN = join(ROOT, "apps", "web", "bin", "tormr-board.js");
const WORKER_BIN = join(ROOT, "apps", "worker", "bin", "tormr-worker.js");
const run = promisify(execFile);

let root: string;
let stateDir: string;
let board: ChildProcess;
let boardUrl: string;
/** A counting pass-through in front of the board, so the test sees every call the worker makes. */
let proxy: Server;
let proxyUrl: string;
const calls: string[] = [];

/** Starts the board (building it first if its build is stale) and waits for its address. */
async function startBoard(): Promise<string> {
  board = spawn(
    process.execPath,
    [BOARD_BIN, "start", "--local", "--state-dir", stateDir, "--port", "0"].concat([
      "--register-bits",
      "8",
      "--post-bits",
      "8",
    ]),
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } },
  );
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    board.stdout?.on("data", onData);
    board.stderr?.on("data", onData);
    board.once("exit", (code) => reject(new Error(`tormr-board exited ${code}:\n${output}`)));
  });
}

function startProxy(target: string): Promise<string> {
  const upstream = new URL(target);
  proxy = createServer((req, res) => {
    calls.push(new URL(req.url ?? "/", target).pathname.replace("/api/trpc/", ""));
    const out = request(
      { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && name !== "host") out.setHeader(name, value);
    }
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  return new Promise((resolve) =>
    proxy.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`),
    ),
  );
}

interface Worker {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  /** Resolves with the first JSON line whose message matches. */
  line(message: RegExp, ms?: number): Promise<Record<string, unknown>>;
}

function startWorker(name: string, url = proxyUrl): Worker {
  const child = spawn(
    process.execPath,
    [WORKER_BIN, "start", "--board", url, "--yes", "--sandbox", "bwrap"].concat([
      "--config-dir",
      join(root, name, "config"),
      "--work-dir",
      join(root, name, "work"),
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const lines: Array<Record<string, unknown>> = [];
  let rest = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    rest += chunk.toString();
    const parts = rest.split("\n");
    rest = parts.pop() ?? "";
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ msg: part });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return {
    child,
    lines,
    exited,
    async line(message, ms = 30_000) {
      const until = Date.now() + ms;
      for (;;) {
        const found = lines.find((line) => message.test(String(line.msg)));
        if (found) return found;
        if (Date.now() > until || child.exitCode !== null) {
          throw new Error(
            `no line matching ${message}; the worker said:\n${JSON.stringify(lines)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

async function boardStats(): Promise<{ workers: Record<string, number> }> {
  const { stdout } = await run(process.execPath, [BOARD_BIN, "stats", "--state-dir", stateDir]);
  return JSON.parse(stdout);
}

async function workerStatus(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, [
    WORKER_BIN,
    "status",
    "--work-dir",
    join(root, name, "work"),
  ]);
  return stdout;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tormr-worker-board-"));
  stateDir = join(root, "board");
  boardUrl = await startBoard();
  proxyUrl = await startProxy(boardUrl);
}, 300_000);

afterAll(async () => {
  proxy?.close();
  if (board && board.exitCode === null) {
    const gone = new Promise((resolve) => board.once("exit", resolve));
    board.kill("SIGTERM");
    await gone;
  }
  await rm(root, { recursive: true, force: true });
}, 60_000);

describe("start --board on a real board", () => {
  let pseudonym: string;

  it("registers under its per-board pseudonym, keeps polling, and leaves on SIGTERM", async () => {
    const worker = startWorker("one");
    const registered = await worker.line(/^registered as /);
    pseudonym = String(registered.pseudonym);
    expect(pseudonym).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await worker.line(/^waiting on the board for a seat$/);
    expect(await boardStats()).toMatchObject({ workers: { available: 1 } });

    const onion = String((await worker.line(/^on board /)).board);
    const tokenFile = join(root, "one", "config", "boards", `${onion}.json`);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(tokenFile, "utf8"))).toMatchObject({ pseudonym });
    expect(await workerStatus("one")).toContain(`board      ${proxyUrl}: waiting on board`);
    expect(await workerStatus("one")).toContain(`pseudonym  ${pseudonym}`);

    // A poll is held by the board (25 s); the next one follows when it answers "waiting".
    await until(() => calls.filter((c) => c === "worker.poll").length >= 2, 45_000, "2 polls");
    expect(worker.child.exitCode).toBeNull();

    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    await worker.line(/^left the board/);
    expect(calls.at(-1)).toBe("worker.leave");
    expect(await boardStats()).toMatchObject({ workers: { left: 1 } });
  }, 120_000);

  it("takes up its saved token on restart: no new stamp, no second worker, the same pseudonym", async () => {
    const registrations = calls.filter((c) => c === "worker.register").length;
    const worker = startWorker("one");
    const resumed = await worker.line(/^took up the saved registration/);
    expect(resumed.pseudonym).toBe(pseudonym);
    await worker.line(/^waiting on the board for a seat$/);
    expect(calls.filter((c) => c === "worker.register").length).toBe(registrations);
    // The one row is available again: a heartbeat from a worker that had left brings it back.
    expect((await boardStats()).workers).toEqual({ available: 1 });
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
  }, 60_000);

  it("exits 8 with a clear message once the board's operator bans its pseudonym", async () => {
    const worker = startWorker("one");
    await worker.line(/^waiting on the board for a seat$/);
    await run(process.execPath, [BOARD_BIN, "ban", pseudonym, "--state-dir", stateDir]);
    expect(await worker.exited).toBe(8);
    const error = await worker.line(/banned/);
    expect(error).toMatchObject({ level: 50, code: "ERR_BANNED", exitCode: 8 });
    expect(String(error.msg)).toBe(
      `tormr-worker: the board banned this worker: pseudonym ${pseudonym} is banned from this ` +
        "board; it will not seat this worker again (other boards know it by other pseudonyms)",
    );
    expect(await boardStats()).toMatchObject({ workers: { banned: 1 } });
  }, 60_000);

  it("refuses a board URL that is not a board's address, and --board with --job-host (exit 2)", async () => {
    const bad = await run(process.execPath, [
      WORKER_BIN,
      "start",
      "--board",
      "https://x.onion",
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain("--board: expected xxxx.onion");
    const both = await run(process.execPath, [
      WORKER_BIN,
      "start",
      "--board",
      boardUrl,
      "--job-host",
      "http://127.0.0.1:7311",
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(both).toMatchObject({ code: 2 });
    expect((both as { stderr: string }).stderr).toContain(
      "--board and --job-host/--ticket contradict each other",
    );
  }, 30_000);
});

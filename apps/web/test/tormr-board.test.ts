// tormr-board for real: served on loopback, then published through tor at its persistent onion and fetched through another tor; the operator's commands.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type AddedTestnetClient, addTestnetClient } from "@tormr/tor/testnet/add-client";
import { TorAgent } from "@tormr/tor/transport";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type {} from "../../../packages/tor/src/testnet/vitest-setup.ts";

const BIN = join(import.meta.dirname, "..", "bin", "tormr-board.js");
let dir: string;
let tors: AddedTestnetClient[] = [];
const running: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tormr-board-cli-"));
  tors = await Promise.all([
    addTestnetClient(inject("testnet")),
    addTestnetClient(inject("testnet")),
  ]);
}, 120_000);
afterAll(async () => {
  for (const child of running) if (child.exitCode === null) child.kill("SIGKILL");
  await Promise.all(tors.map((tor) => tor.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function run(args: string[]) {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
  const lines: string[] = [];
  let stdout = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on("line", (line) =>
    lines.push(line),
  );
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  const line = async (pattern: RegExp, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = lines.map((l) => pattern.exec(l)).find(Boolean);
      if (found) return found;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no line like ${pattern}; got:\n${lines.join("\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return { child, lines, exited, line, stdout: () => stdout };
}

function fetchThroughTor(
  url: string,
  tor: AddedTestnetClient,
): Promise<{ status: number; body: string }> {
  const agent = new TorAgent({
    socks: { port: tor.client.socksPort },
    isolation: `probe-${Date.now()}`,
  });
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on("end", () => {
        agent.destroy();
        resolve({ status: res.statusCode ?? 0, body });
      });
    }).on("error", (error) => {
      agent.destroy();
      reject(error);
    });
  });
}

describe("tormr-board", () => {
  it("serves on loopback with --local, counts for the operator, and stops cleanly", async () => {
    const stateDir = join(dir, "local");
    const board = run(["start", "--local", "--state-dir", stateDir]);
    const [, url] = (await board.line(/serving on (http:\/\/127\.0\.0\.1:\d+)/)) as RegExpExecArray;
    const home = await fetch(`${url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("MapReduce for people who must not be seen");
    await board.line(
      /--local: not published; this board's address would be http:\/\/[a-z2-7]{56}\.onion/,
    );
    board.child.kill("SIGTERM");
    expect(await board.exited).toBe(0);
    const stats = run(["stats", "--state-dir", stateDir]);
    expect(await stats.exited).toBe(0);
    expect(JSON.parse(stats.stdout())).toEqual({ requests: {}, workers: {}, seats: 0 });
    // The key was made once, 0600, and can be backed up (never over an existing file).
    expect(statSync(join(stateDir, "onion-key.json")).mode & 0o777).toBe(0o600);
    const backup = run(["backup-key", join(dir, "key-backup.json"), "--state-dir", stateDir]);
    expect(await backup.exited).toBe(0);
    const again = run(["backup-key", join(dir, "key-backup.json"), "--state-dir", stateDir]);
    expect(await again.exited).toBe(1);
  }, 120_000);

  it("says what is wrong: an unknown request or pseudonym (exit 1), a bad flag (exit 2)", async () => {
    const stateDir = join(dir, "local");
    const remove = run(["remove-request", "nosuch", "--state-dir", stateDir]);
    expect(await remove.exited).toBe(1);
    expect(remove.lines.join("\n")).toContain("no request with id 'nosuch'");
    const ban = run(["ban", "nobody", "--state-dir", stateDir]);
    expect(await ban.exited).toBe(1);
    expect(ban.lines.join("\n")).toContain("no worker with pseudonym 'nobody'");
    const bad = run(["start", "--port", "http"]);
    expect(await bad.exited).toBe(2);
    expect(bad.lines.join("\n")).toContain("expected a whole number from 0 to 65535, got 'http'");
  }, 60_000);

  it("publishes the board through tor at the same onion every start, reachable through another tor", async () => {
    const [hostTor, visitor] = tors as [AddedTestnetClient, AddedTestnetClient];
    const stateDir = join(dir, "onion");
    const addresses: string[] = [];
    for (let start = 0; start < 2; start++) {
      const board = run([
        "start",
        "--state-dir",
        stateDir,
        "--tor-control",
        `127.0.0.1:${hostTor.client.controlPort}`,
      ]);
      const [, onion] = (await board.line(
        /onion: (http:\/\/[a-z2-7]{56}\.onion)/,
      )) as RegExpExecArray;
      addresses.push(onion as string);
      // A descriptor just uploaded can take a moment to be found: ask again for up to a minute.
      let page: { status: number; body: string } | undefined;
      for (let attempt = 0; !page; attempt++) {
        page = await fetchThroughTor(`${onion}/`, visitor).catch((error: unknown) => {
          if (attempt >= 20) throw error;
          return new Promise<undefined>((resolve) => setTimeout(resolve, 3000));
        });
      }
      expect(page.status).toBe(200);
      expect(page.body).toContain("TorMR board");
      board.child.kill("SIGTERM");
      expect(await board.exited).toBe(0);
    }
    expect(addresses[1]).toBe(addresses[0]);
  }, 240_000);
});

// The packed tarball: installed with npm from the file alone, its tormr-worker runs on plain Node.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, realpath, rm, stat } from "node:fs/promises";
import { builtinModules } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PackedWorker, packWorker } from "./packed-worker.ts";

let packed: PackedWorker;
let home: string;
beforeAll(async () => {
  const started = performance.now();
  packed = await packWorker();
  home = await mkdtemp(join(tmpdir(), "tormr-worker-home-"));
  // Seen in the test output: pack and install together take about 2 s here.
  console.info(`pack + install: ${Math.round(performance.now() - started)} ms`);
}, 120_000);
afterAll(async () => {
  await packed?.cleanup();
  if (home) await rm(home, { recursive: true, force: true });
});

/** Runs the installed bin from a folder outside the repository, with its own HOME. */
function worker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      packed.bin,
      args,
      {
        cwd: home,
        env: {
          ...packed.env,
          HOME: home,
          XDG_CONFIG_HOME: join(home, "config"),
          XDG_CACHE_HOME: join(home, "cache"),
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

describe("the packed tormr-worker", () => {
  it("is one bundle that needs nothing but Node's own modules", async () => {
    const bundle = await readFile(await realpath(packed.bin), "utf8");
    expect(bundle.startsWith("#!/usr/bin/env node\n")).toBe(true);
    const imports = [...bundle.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    const requires = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]);
    const builtin = (name: string | undefined) =>
      name !== undefined && (name.startsWith("node:") || builtinModules.includes(name));
    expect(imports.filter((name) => !builtin(name))).toEqual([]);
    expect(requires.filter((name) => !builtin(name))).toEqual([]);
  });

  it("prints its help and exit codes", async () => {
    const { code, stdout } = await worker("--help");
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: tormr-worker [options] [command]");
    expect(stdout).toContain("Exit codes:");
  });

  it("makes an identity: a 43-character pseudonym, in a 0600 file", async () => {
    const dir = join(home, "identity");
    const { code, stdout } = await worker("identity", "--config-dir", dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pseudonym {5}[A-Za-z0-9_-]{43}$/m);
    expect((await stat(join(dir, "identity.json"))).mode & 0o777).toBe(0o600);
  });

  it("refuses a malformed ticket with a usage error", async () => {
    const { code, stderr } = await worker(
      "start",
      "--job-host",
      "http://127.0.0.1:9",
      "--ticket",
      "nope",
      "--yes",
    );
    expect(code).toBe(2);
    expect(stderr).toBe(
      "tormr-worker: --ticket: expected 43 base64url characters, got 4 characters; copy the whole ticket the requester gave you\n",
    );
  });

  it("says the job host cannot be reached on a closed port (exit 4), never printing the ticket", async () => {
    const port = await closedPort();
    const ticket = randomBytes(32).toString("base64url");
    const { code, stderr } = await worker(
      "start",
      "--job-host",
      `http://127.0.0.1:${port}`,
      "--ticket",
      ticket,
      "--yes",
      "--work-dir",
      join(home, "work"),
      "--disk-quota-mb",
      "1",
    );
    const lines = stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const error = lines.find((line) => line.level === 50);
    expect(error?.msg).toBe(
      `tormr-worker: cannot reach the job host at http://127.0.0.1:${port}: ECONNREFUSED; ` +
        "check --job-host and that the job host is up, then try again",
    );
    expect(code).toBe(4);
    expect(stderr).not.toContain(ticket);
  });
});

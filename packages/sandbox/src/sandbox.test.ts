// Both backends, one suite: real dockerd (started here) and real bwrap, escapes asserted to fail.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { buffer, text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BwrapSandbox } from "./bwrap.ts";
import { detectSandbox } from "./detect.ts";
import { DockerSandbox } from "./docker.ts";
import { type Dockerd, startDockerd } from "./dockerd.ts";
import { ensureImage } from "./images.ts";
import type { Sandbox, SandboxExit, SandboxLimits, SandboxRun } from "./sandbox.ts";

const CI = process.env.CI === "true";
const MiB = 1024 * 1024;
const LIMITS: SandboxLimits = { memoryBytes: 64 * MiB, cpus: 1, pids: 32, tmpfsBytes: 16 * MiB };

/** A real fork bomb (every child forks too); the first process reports the fork that failed. */
const FORK_BOMB = `
import os, sys
root = os.getpid()
while True:
    try:
        os.fork()
    except OSError as error:
        if os.getpid() == root:
            print("fork failed:", error.strerror, file=sys.stderr)
            sys.exit(3)
`;

function installed(command: string): boolean {
  const path = `${process.env.PATH ?? ""}:/usr/sbin:/sbin`;
  return spawnSync("sh", ["-c", `command -v ${command}`], { env: { PATH: path } }).status === 0;
}

interface Backend {
  kind: "docker" | "bwrap";
  needs: string;
  setUp(dir: string): Promise<{ sandbox: Sandbox; image?: string; tearDown(): Promise<void> }>;
  /** Containers or cgroups a finished run left behind. */
  leftovers(): string[];
}

let dockerd: Dockerd | undefined;
const backends: Backend[] = [
  {
    kind: "docker",
    needs: "dockerd",
    async setUp(dir) {
      let started = Date.now();
      dockerd = await startDockerd(join(dir, "dockerd"));
      console.log(`dockerd answered after ${Date.now() - started} ms`);
      started = Date.now();
      const image = await ensureImage("python", { host: dockerd.host });
      console.log(`${image} ready after ${Date.now() - started} ms`);
      const daemon = dockerd;
      return { sandbox: new DockerSandbox({ host: daemon.host }), image, tearDown: daemon.stop };
    },
    leftovers() {
      const host = dockerd?.host ?? "";
      const out = execFileSync("docker", ["ps", "-aq"], {
        env: { ...process.env, DOCKER_HOST: host },
      });
      // Each run's cgroup parent, in every hierarchy (runc creates it in all).
      return [...out.toString().split("\n").filter(Boolean), ...ownCgroups()];
    },
  },
  {
    kind: "bwrap",
    needs: "bwrap",
    async setUp() {
      return { sandbox: new BwrapSandbox(), tearDown: async () => {} };
    },
    leftovers: ownCgroups,
  },
];

/**
 * This process's cgroups (both backends put the owner's pid in the name) in every hierarchy (v1
 * controllers and names, or v2's one); other processes on the machine may be running tasks too.
 */
function ownCgroups(): string[] {
  const roots = ["/sys/fs/cgroup", ...findDirs("/sys/fs/cgroup")];
  const own = new RegExp(`^tormr-(docker-)?${process.pid}-`);
  const found = roots.flatMap((root) => findTormrCgroups(root, 3));
  return [...new Set(found)].filter((dir) => own.test(basename(dir)));
}

function findDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(dir, entry.name));
}

function findTormrCgroups(dir: string, depth: number): string[] {
  if (depth === 0 || !existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      entry.name.startsWith("tormr-")
        ? [join(dir, entry.name)]
        : findTormrCgroups(join(dir, entry.name), depth - 1),
    );
}

describe.each(backends)("$kind sandbox", (backend) => {
  const missing = !installed(backend.needs);
  // Outside CI a machine without the backend skips it; under CI=true it must fail.
  const test = missing && !CI ? it.skip : it;
  let sandbox: Sandbox;
  let image: string | undefined;
  let tearDown = async () => {};
  let dir: string;
  let jobDir: string;

  beforeAll(async () => {
    if (missing) {
      throw new Error(`${backend.needs} is not installed (CI=true needs it); run 'npm run setup'`);
    }
    dir = mkdtempSync(join(tmpdir(), `tormr-sandbox-${backend.kind}-`));
    jobDir = join(dir, "job");
    execFileSync("mkdir", ["-m", "755", jobDir]);
    writeFileSync(join(jobDir, "fork_bomb.py"), FORK_BOMB);
    ({ sandbox, image, tearDown } = await backend.setUp(dir));
  });

  afterAll(async () => {
    await tearDown();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function run(command: string[], extra: Partial<SandboxRun> = {}, input?: Buffer) {
    const child = sandbox.spawn({ command, jobDir, limits: LIMITS, image, ...extra });
    child.stdin.end(input);
    const [stdout, stderr, exit] = await Promise.all([
      text(child.stdout),
      text(child.stderr),
      child.exited,
    ]);
    return { stdout, stderr, exit };
  }

  const ok: SandboxExit = { code: 0, signal: null };

  test("streams 5 MB through cat with backpressure, byte for byte", async () => {
    const child = sandbox.spawn({ command: ["cat"], jobDir, limits: LIMITS, image });
    const input = randomBytes(5 * MiB);
    let waits = 0;
    const feeding = (async () => {
      for (let offset = 0; offset < input.length; offset += 64 * 1024) {
        if (!child.stdin.write(input.subarray(offset, offset + 64 * 1024))) {
          waits++;
          await once(child.stdin, "drain");
        }
      }
      child.stdin.end();
    })();
    const [output] = await Promise.all([buffer(child.stdout), feeding]);
    expect(await child.exited).toEqual(ok);
    expect(output.length).toBe(input.length);
    expect(sha256(output)).toBe(sha256(input));
    expect(waits).toBeGreaterThan(0);
  });

  test("runs as nobody with only the environment it was given", async () => {
    process.env.TORMR_SANDBOX_HOST_SECRET = "leaked";
    const result = await run(
      ["python3", "-c", "import os; print(os.getuid(), os.getgid(), sorted(os.environ))"],
      { env: { GIVEN: "1" } },
    );
    delete process.env.TORMR_SANDBOX_HOST_SECRET;
    expect(result.exit).toEqual(ok);
    expect(result.stdout).toMatch(/^65534 65534 /);
    expect(result.stdout).toContain("'GIVEN'");
    expect(result.stdout).not.toContain("TORMR_SANDBOX_HOST_SECRET");
  });

  test("cannot reach the internet: ENETUNREACH", async () => {
    const result = await run([
      "python3",
      "-c",
      "import socket; socket.create_connection(('1.1.1.1', 53), timeout=5)",
    ]);
    expect(result.exit.code).toBe(1);
    expect(result.stderr).toContain("[Errno 101] Network is unreachable");
  });

  test("cannot reach a server on the host's loopback: connection refused", async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    try {
      const result = await run([
        "python3",
        "-c",
        `import socket; socket.create_connection(('127.0.0.1', ${port}), timeout=5)`,
      ]);
      expect(result.exit.code).toBe(1);
      expect(result.stderr).toContain("[Errno 111] Connection refused");
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  test("cannot write outside /tmp (read-only file system); can write inside it", async () => {
    const outside = await run(["sh", "-c", "echo x > /job/out || echo x > /escape || exit 9"]);
    expect(outside.exit.code).toBe(9);
    expect(outside.stderr).toContain("cannot create /job/out: Read-only file system");
    expect(outside.stderr).toContain("cannot create /escape: Read-only file system");
    expect(existsSync(join(jobDir, "out"))).toBe(false);

    const inside = await run(["sh", "-c", "echo written > /tmp/file && cat /tmp/file"]);
    expect(inside.exit).toEqual(ok);
    expect(inside.stdout).toBe("written\n");
  });

  test("a fork bomb is stopped by the pids limit", async () => {
    const result = await run(["python3", "/job/fork_bomb.py"], { timeoutMs: 20_000 });
    expect(result.stderr).toContain("fork failed: Resource temporarily unavailable");
    expect(result.exit).toEqual({ code: 3, signal: null, reason: "pids" });
    expect(backend.leftovers()).toEqual([]);
  });

  test("allocating past the memory limit ends with 137, reason memory", async () => {
    const result = await run(["python3", "-c", "b = bytearray(b'x') * (256 * 1024 * 1024)"]);
    expect(result.exit).toEqual({ code: 137, signal: null, reason: "memory" });
    expect(backend.leftovers()).toEqual([]);
  });

  test("spinning past the CPU time limit ends with SIGXCPU, reason cpu", async () => {
    const limits = { ...LIMITS, cpuSeconds: 1 };
    const result = await run(["python3", "-c", "while True: pass"], { limits });
    expect(result.exit).toEqual({ code: 152, signal: null, reason: "cpu" });
  });

  test("a run past its wall-clock limit is killed, reason timeout", async () => {
    const started = Date.now();
    const result = await run(["sleep", "60"], { timeoutMs: 1000 });
    expect(result.exit.reason).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(backend.leftovers()).toEqual([]);
  });

  if (backend.kind === "docker") {
    test("a missing image fails at once with 125, without trying a registry", async () => {
      const result = await run(["true"], { image: "tormr/missing:0" });
      expect(result.exit.code).toBe(125);
      expect(result.stderr).toContain("No such image: tormr/missing:0");
    });

    test("builds the node image once per content hash and runs node in it", async () => {
      const host = dockerd?.host as string;
      const node = await ensureImage("node", { host });
      expect(node).toMatch(/^tormr\/node:[0-9a-f]{16}$/);
      expect(await ensureImage("node", { host })).toBe(node);
      const result = await run(["node", "-e", "console.log(process.version)"], {
        image: node,
        limits: { ...LIMITS, memoryBytes: 256 * MiB },
      });
      expect(result.exit).toEqual(ok);
      expect(result.stdout).toBe(`${process.version}\n`);
    });
  }

  test("still runs normal tasks after all of the above", async () => {
    const result = await run(["sh", "-c", "cat; echo done"], {}, Buffer.from("input\n"));
    expect(result).toEqual({ stdout: "input\ndone\n", stderr: "", exit: ok });
  });
});

describe("detectSandbox", () => {
  const missing = !installed("dockerd") || !installed("bwrap");
  const test = missing && !CI ? it.skip : it;
  let dir: string;
  let daemon: Dockerd | undefined;

  beforeAll(async () => {
    if (missing) throw new Error("dockerd and bwrap are needed (CI=true); run 'npm run setup'");
    dir = mkdtempSync(join(tmpdir(), "tormr-sandbox-detect-"));
    daemon = await startDockerd(join(dir, "dockerd"));
  });

  afterAll(async () => {
    await daemon?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("picks Docker when a daemon answers", async () => {
    const sandbox = await detectSandbox({ dockerHost: daemon?.host as string });
    expect(sandbox.kind).toBe("docker");
  });

  test("falls back to bwrap when no daemon answers", async () => {
    const sandbox = await detectSandbox({ dockerHost: `unix://${join(dir, "none.sock")}` });
    expect(sandbox.kind).toBe("bwrap");
  });
});

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

// Starts a private dockerd (its own data-root, exec-root and socket) for tests, dev and CI.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { SandboxError } from "./sandbox.ts";

const run = promisify(execFile);

export interface Dockerd {
  /** `unix://<dir>/docker.sock`: pass it as DOCKER_HOST. */
  host: string;
  pid: number;
  stop(): Promise<void>;
}

/** Whether a docker daemon answers at `host` (or at the CLI's default). */
export async function dockerAnswers(host?: string, timeoutMs = 5000): Promise<boolean> {
  try {
    await run("docker", ["version", "--format", "{{.Server.Version}}"], {
      env: dockerEnv(host),
      timeout: timeoutMs,
    });
    return true;
  } catch {
    return false;
  }
}

/** The environment for a docker CLI call: the host's, with DOCKER_HOST set when given. */
export function dockerEnv(host?: string): NodeJS.ProcessEnv {
  return host === undefined ? process.env : { ...process.env, DOCKER_HOST: host };
}

/**
 * Starts dockerd with no networking of its own (no iptables, no bridge: containers run with
 * `--network none` anyway) and waits until `docker version` answers. Its log is `<dir>/dockerd.log`.
 */
export async function startDockerd(dir: string, timeoutMs = 30_000): Promise<Dockerd> {
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, "docker.sock");
  const host = `unix://${socket}`;
  const log = openSync(join(dir, "dockerd.log"), "a");
  let child: ChildProcess;
  try {
    child = spawn(
      "dockerd",
      [
        "--iptables=false",
        "--ip6tables=false",
        "--bridge=none",
        "--ip-forward=false",
        "--ip-masq=false",
        "--data-root",
        join(dir, "root"),
        "--exec-root",
        join(dir, "exec"),
        "--pidfile",
        join(dir, "docker.pid"),
        "-H",
        host,
      ],
      { stdio: ["ignore", log, log], env: { ...process.env, PATH: withSbin(process.env.PATH) } },
    );
  } catch (error) {
    throw new SandboxError("ERR_DOCKERD", `could not start dockerd: ${String(error)}`);
  }
  let failure: string | undefined;
  child.once("error", (error) => {
    failure = `could not start dockerd (install docker.io): ${error.message}`;
  });
  child.once("exit", (code, signal) => {
    failure ??= `dockerd exited (${signal ?? code}); see ${join(dir, "dockerd.log")}`;
  });
  const started = Date.now();
  while (!(await dockerAnswers(host, 2000))) {
    if (failure !== undefined) throw new SandboxError("ERR_DOCKERD", failure);
    if (Date.now() - started > timeoutMs) {
      child.kill("SIGKILL");
      throw new SandboxError(
        "ERR_DOCKERD",
        `dockerd did not answer within ${timeoutMs} ms; see ${join(dir, "dockerd.log")}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const pid = child.pid as number;
  return {
    host,
    pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** dockerd lives in /usr/sbin, which a non-login PATH may lack. */
function withSbin(path = "/usr/bin:/bin"): string {
  return path.split(":").includes("/usr/sbin") ? path : `${path}:/usr/sbin:/sbin`;
}

// The Docker backend: one hardened `docker run` per program, through the docker CLI.
import { execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { sweepStaleCgroupsOnce } from "./cgroup-sweep.ts";
import { createDockerCgroup, type DockerCgroup, dockerCgroupsUsable } from "./docker-cgroup.ts";
import { dockerEnv } from "./dockerd.ts";
import {
  checkRun,
  childClosed,
  type Sandbox,
  SandboxError,
  type SandboxExit,
  type SandboxProcess,
  type SandboxRun,
  sandboxEnv,
} from "./sandbox.ts";

const exec = promisify(execFile);

/** 128 + SIGXCPU: what RLIMIT_CPU's soft limit ends a program with (the hard one, a second
 * later, sends SIGKILL to a program that ignores it). */
const CPU_EXIT = 152;

export interface DockerSandboxOptions {
  /** DOCKER_HOST for every CLI call; the environment's (or the CLI default) when absent. */
  host?: string;
}

export class DockerSandbox implements Sandbox {
  readonly kind = "docker";
  /** Whether runs get a cgroup parent of their own (asked of the daemon at the first run). */
  private cgroupsUsable: boolean | undefined;
  constructor(private readonly options: DockerSandboxOptions = {}) {}

  spawn(run: SandboxRun): SandboxProcess {
    checkRun(run);
    if (run.image === undefined) {
      throw new SandboxError("ERR_BAD_RUN", "expected an image for the docker sandbox, got none");
    }
    // In the background, once per process: what earlier, killed processes left behind.
    void sweepStaleCgroupsOnce();
    const id = randomUUID();
    const name = `tormr-${id}`;
    const env = dockerEnv(this.options.host);
    this.cgroupsUsable ??= dockerCgroupsUsable(env);
    // Without a parent of our own, --pids-limit alone still limits, but a refused fork goes
    // unreported: the container's cgroup is removed with it.
    const cgroup =
      this.cgroupsUsable === true
        ? createDockerCgroup(`tormr-docker-${process.pid}-${id}`, run.limits.pids)
        : undefined;
    const child = spawn(
      "docker",
      ["run", ...dockerRunFlags(name, run, cgroup), run.image, ...run.command],
      { env, stdio: ["pipe", "pipe", "pipe"] },
    );
    const docker = (args: string[]) => exec("docker", args, { env, timeout: 30_000 });

    let killing = false;
    let closed = false;
    const kill = () => {
      // Killing the CLI would leave the container running: remove the container itself, again
      // while the CLI may still be creating it, then kill the CLI as a last resort.
      if (killing) return;
      killing = true;
      void (async () => {
        for (let attempt = 0; attempt < 20 && !closed; attempt++) {
          await docker(["rm", "-f", name]).catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        if (!closed) child.kill("SIGKILL");
      })();
    };

    let timedOut = false;
    const timer =
      run.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, run.timeoutMs);

    const exited = childClosed(child).then(async (cli): Promise<SandboxExit> => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      // Inspect before removing: OOMKilled is only known to the daemon.
      const state = await docker([
        "inspect",
        "--format",
        "{{.State.ExitCode}} {{.State.OOMKilled}}",
        name,
      ]).then(
        ({ stdout }) => stdout.trim().split(" "),
        () => undefined,
      );
      await docker(["rm", "-f", name]).catch(() => {});
      const forkRefused = cgroup?.forkRefused() ?? false;
      await cgroup?.remove();
      const code = state?.[0] !== undefined ? Number(state[0]) : cli.code;
      const exit: SandboxExit = { code, signal: cli.signal };
      if (state?.[1] === "true") exit.reason = "memory";
      else if (timedOut) exit.reason = "timeout";
      else if (code === CPU_EXIT && run.limits.cpuSeconds !== undefined) exit.reason = "cpu";
      else if (forkRefused && code !== 0) exit.reason = "pids";
      return exit;
    });

    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      pid: child.pid,
      containerId: name,
      exited,
      kill,
    };
  }
}

/** The hardened `docker run` flags (ENVIRONMENT.md, "Docker and sandboxes"). */
export function dockerRunFlags(name: string, run: SandboxRun, cgroup?: DockerCgroup): string[] {
  const { limits } = run;
  const flags = [
    "-i",
    // tini as pid 1: a program there would ignore SIGXCPU (RLIMIT_CPU) and SIGTERM.
    "--init",
    // No registry is reachable: a missing image fails at once (exit 125) instead of pulling.
    "--pull",
    "never",
    "--name",
    name,
    "--network",
    "none",
    "--read-only",
    "--tmpfs",
    `/tmp:rw,nosuid,nodev,size=${limits.tmpfsBytes},mode=1777`,
    "--memory",
    String(limits.memoryBytes),
    "--memory-swap",
    String(limits.memoryBytes),
    "--cpus",
    String(limits.cpus),
    ...pidsFlags(limits.pids, cgroup),
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--user",
    "65534:65534",
    // stdout goes to the caller through the attach stream; a log would copy it to disk.
    "--log-driver",
    "none",
    "-v",
    `${run.jobDir}:/job:ro`,
    "-w",
    run.cwd ?? "/job",
  ];
  if (limits.cpuSeconds !== undefined) {
    const seconds = Math.ceil(limits.cpuSeconds);
    flags.push("--ulimit", `cpu=${seconds}:${seconds + 1}`);
  }
  for (const [key, value] of Object.entries(sandboxEnv(run))) flags.push("-e", `${key}=${value}`);
  return flags;
}

/**
 * With a parent, the limit is the parent's and the container's own one is a backstop one higher:
 * it never refuses first (so the parent counts the refused fork), yet still limits should the
 * daemon not have put the container under the parent.
 */
function pidsFlags(pids: number, cgroup: DockerCgroup | undefined): string[] {
  if (cgroup === undefined) return ["--pids-limit", String(pids)];
  return ["--cgroup-parent", cgroup.parent, "--pids-limit", String(pids + 1)];
}

// The bubblewrap backend: no daemon; namespaces, a read-only root, cgroup limits and RLIMIT_CPU.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createCgroup } from "./cgroup.ts";
import { sweepStaleCgroupsOnce } from "./cgroup-sweep.ts";
import {
  checkRun,
  childClosed,
  type Sandbox,
  type SandboxExit,
  type SandboxProcess,
  type SandboxRun,
  sandboxEnv,
} from "./sandbox.ts";

/** 128 + SIGXCPU: what RLIMIT_CPU's soft limit ends a program with (the hard one, a second
 * later, sends SIGKILL to a program that ignores it). */
const CPU_EXIT = 152;

/**
 * Joins the cgroups given as `<count> <procs file>...`, then execs the rest, so that the
 * sandbox is limited from its first instruction (moving it in after spawn would race its forks).
 */
const JOIN_CGROUPS =
  'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; exec "$@"';

export class BwrapSandbox implements Sandbox {
  readonly kind = "bwrap";

  spawn(run: SandboxRun): SandboxProcess {
    checkRun(run);
    // In the background, once per process: what earlier, killed processes left behind.
    void sweepStaleCgroupsOnce();
    const { limits } = run;
    // The pid names the owner, so a leftover of a process that is gone is known to be stale.
    const cgroup = createCgroup(`tormr-${process.pid}-${randomUUID()}`, limits);
    const cpu =
      limits.cpuSeconds === undefined
        ? []
        : [
            "prlimit",
            `--cpu=${Math.ceil(limits.cpuSeconds)}:${Math.ceil(limits.cpuSeconds) + 1}`,
            "--",
          ];
    const child = spawn(
      "/bin/sh",
      [
        "-c",
        JOIN_CGROUPS,
        "sh",
        String(cgroup.procsFiles.length),
        ...cgroup.procsFiles,
        ...cpu,
        "bwrap",
        ...bwrapFlags(run),
        "--",
        ...run.command,
      ],
      { env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" }, stdio: ["pipe", "pipe", "pipe"] },
    );

    let closed = false;
    const kill = () => {
      if (closed) return;
      // Everything in the cgroup, in case something slipped out of bwrap's process tree.
      for (const pid of cgroupPids(cgroup.procsFiles)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      child.kill("SIGKILL");
    };

    let timedOut = false;
    const timer =
      run.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            kill();
          }, run.timeoutMs);

    const exited = childClosed(child).then(async ({ code, signal }): Promise<SandboxExit> => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      const events = cgroup.events();
      for (const pid of cgroupPids(cgroup.procsFiles)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      await cgroup.remove();
      const exit: SandboxExit = { code, signal };
      if (events.oomKills > 0) exit.reason = "memory";
      else if (signal === "SIGXCPU" || (code === CPU_EXIT && limits.cpuSeconds !== undefined)) {
        exit.reason = "cpu";
      } else if (timedOut) exit.reason = "timeout";
      else if (events.forkFailures > 0 && code !== 0) exit.reason = "pids";
      return exit;
    });

    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      pid: child.pid,
      exited,
      kill,
    };
  }
}

/** The bwrap flags (ENVIRONMENT.md, "Docker and sandboxes"), ending with a read-only root. */
export function bwrapFlags(run: SandboxRun): string[] {
  const flags = [
    // As root, all three are needed: without them the sandbox keeps full capabilities.
    ...["--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534"],
    ...["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv"],
  ];
  for (const [key, value] of Object.entries(sandboxEnv(run))) flags.push("--setenv", key, value);
  flags.push(
    ...["--ro-bind", "/usr", "/usr"],
    ...["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64"],
    ...["--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin"],
    ...["--proc", "/proc", "--dev", "/dev"],
    ...["--size", String(run.limits.tmpfsBytes), "--perms", "1777", "--tmpfs", "/tmp"],
    ...["--ro-bind", run.jobDir, "/job", "--chdir", run.cwd ?? "/job"],
    // bwrap's own root is a writable tmpfs; only /tmp may take writes.
    ...["--remount-ro", "/"],
  );
  return flags;
}

function cgroupPids(procsFiles: string[]): number[] {
  const pids = new Set<number>();
  for (const file of procsFiles) {
    try {
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (line !== "") pids.add(Number(line));
      }
    } catch {}
  }
  return [...pids];
}

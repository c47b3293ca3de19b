// The cgroup parent of one Docker run, which keeps the kernel's record of a refused fork after
// the container and its own cgroup are gone (cgroup v1, dockerd's cgroupfs driver).
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { cgroupMounts, cgroupVersion, keepTimes, ROOT, removeCgroupDir } from "./cgroup.ts";

/**
 * Two levels: `/<name>` holds the pids limit and `/<name>/run`, without a limit, holds the
 * container. On v1, `pids.events` counts a refused fork only in the forking task's own cgroup
 * (the container's, removed with it), but every cgroup below the one whose limit refused it was
 * charged for the fork first: `run`'s `pids.peak` passes the limit exactly when a fork was refused.
 */
export interface DockerCgroup {
  /** For `docker run --cgroup-parent`. */
  parent: string;
  /** Whether the pids limit refused a fork so far. */
  forkRefused(): boolean;
  /** Removes both levels from every hierarchy (runc creates them in all) once the container is. */
  remove(): Promise<void>;
}

/**
 * Whether runs can get a parent: cgroup v1 with a pids hierarchy, and a daemon on this machine
 * (same hostname, unix socket) using the cgroupfs driver (the systemd driver only takes slice
 * names, and a daemon elsewhere would create the parent in its own tree). Undefined when the
 * daemon does not answer, so that the caller asks again next time.
 */
export function dockerCgroupsUsable(env: NodeJS.ProcessEnv): boolean | undefined {
  if (cgroupVersion() !== 1 || !existsSync(join(ROOT, "pids", "cgroup.procs"))) return false;
  if (env.DOCKER_HOST !== undefined && !env.DOCKER_HOST.startsWith("unix://")) return false;
  let info: string;
  try {
    // Synchronous because spawn() is; it runs once per DockerSandbox and takes about 60 ms.
    info = execFileSync(
      "docker",
      ["info", "--format", "{{.CgroupDriver}} {{.CgroupVersion}} {{.Name}}"],
      { env, timeout: 5000, stdio: ["ignore", "pipe", "ignore"] },
    ).toString();
  } catch {
    return undefined;
  }
  return info.trim() === `cgroupfs 1 ${hostname()}`;
}

/** Creates `/<name>` (pids.max = `pids`) and `/<name>/run`; undefined when that is not possible
 * (not root, or a kernel without `pids.peak`), so the caller falls back to `--pids-limit`. */
export function createDockerCgroup(name: string, pids: number): DockerCgroup | undefined {
  const limited = join(ROOT, "pids", name);
  const run = join(limited, "run");
  try {
    mkdirSync(run, { recursive: true });
    // runc makes its copies in the other hierarchies; the sweep takes the earliest time.
    keepTimes(limited);
    writeFileSync(join(limited, "pids.max"), String(pids));
    if (!existsSync(join(run, "pids.peak"))) throw new Error("no pids.peak (kernel < 6.1)");
  } catch {
    for (const dir of [run, limited]) {
      try {
        rmdirSync(dir);
      } catch {}
    }
    return undefined;
  }
  return {
    parent: `/${name}/run`,
    forkRefused() {
      try {
        return Number(readFileSync(join(run, "pids.peak"), "utf8")) > pids;
      } catch {
        return false;
      }
    },
    remove: () => removeEverywhere(name),
  };
}

async function removeEverywhere(name: string): Promise<void> {
  for (const mount of cgroupMounts()) {
    await removeCgroupDir(join(mount, name, "run"));
    await removeCgroupDir(join(mount, name));
  }
}

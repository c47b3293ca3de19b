// One cgroup per bubblewrap run, holding its memory and pids limits (cgroup v1 or v2).
import { existsSync, mkdirSync, readFileSync, rmdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SandboxError } from "./sandbox.ts";

export const ROOT = "/sys/fs/cgroup";

export type CgroupVersion = 1 | 2;

export interface Cgroup {
  version: CgroupVersion;
  /** The `cgroup.procs` files a process writes its pid to, to join (one per v1 controller). */
  procsFiles: string[];
  /** How often each limit stopped something (OOM kills, refused forks) so far. */
  events(): { oomKills: number; forkFailures: number };
  /** Removes the cgroup once its processes are gone (retrying while they exit). */
  remove(): Promise<void>;
}

/** 2 when the unified hierarchy holds the controllers (pure v2), 1 for v1 or hybrid mounts. */
export function cgroupVersion(): CgroupVersion {
  return existsSync(join(ROOT, "cgroup.controllers")) ? 2 : 1;
}

/** Creates `name` beside this process's own cgroup (so outer limits still apply). */
export function createCgroup(name: string, limits: { memoryBytes: number; pids: number }): Cgroup {
  const version = cgroupVersion();
  const dirs =
    version === 2
      ? { memory: join(ROOT, ownPath(""), name), pids: join(ROOT, ownPath(""), name) }
      : {
          memory: join(ROOT, "memory", ownPath("memory"), name),
          pids: join(ROOT, "pids", ownPath("pids"), name),
        };
  try {
    if (version === 2) {
      // v2 only offers a child the controllers its parent passes down.
      writeOptional(join(ROOT, ownPath(""), "cgroup.subtree_control"), "+memory +pids");
    }
    for (const dir of new Set(Object.values(dirs))) {
      mkdirSync(dir, { recursive: true });
      keepTimes(dir);
    }
    if (version === 2) {
      writeFileSync(join(dirs.memory, "memory.max"), String(limits.memoryBytes));
      writeOptional(join(dirs.memory, "memory.swap.max"), "0");
      writeFileSync(join(dirs.pids, "pids.max"), String(limits.pids));
    } else {
      writeFileSync(join(dirs.memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
      // Only present when swap accounting is on; without it there is no swap to limit.
      writeOptional(join(dirs.memory, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes));
      writeFileSync(join(dirs.pids, "pids.max"), String(limits.pids));
    }
  } catch (error) {
    throw new SandboxError(
      "ERR_NO_SANDBOX",
      `could not set up cgroup ${name} (cgroup v${version}; bwrap limits need root and writable ` +
        `${ROOT}): ${(error as Error).message}`,
    );
  }
  const unique = [...new Set(Object.values(dirs))];
  return {
    version,
    procsFiles: unique.map((dir) => join(dir, "cgroup.procs")),
    events() {
      const memoryFile = version === 2 ? "memory.events" : "memory.oom_control";
      return {
        oomKills: readCounter(join(dirs.memory, memoryFile), "oom_kill"),
        forkFailures: readCounter(join(dirs.pids, "pids.events"), "max"),
      };
    },
    async remove() {
      for (const dir of unique) await removeCgroupDir(dir);
    },
  };
}

/** Every cgroup hierarchy's mount point (v1 controllers, name=systemd, the hybrid unified one). */
export function cgroupMounts(): string[] {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" "))
    .filter((fields) => fields[2] === "cgroup" || fields[2] === "cgroup2")
    .map((fields) => fields[1] as string);
}

/** This process's cgroup path for a v1 controller ("" for v2), from /proc/self/cgroup. */
function ownPath(controller: string): string {
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (controllers === undefined || path === undefined) continue;
    if (controller === "" ? controllers === "" : controllers.split(",").includes(controller)) {
      return path;
    }
  }
  return "/";
}

/**
 * Stores `dir`'s times: cgroupfs keeps none for a folder root made, and reports when the kernel
 * last loaded it instead (later, after an eviction). The sweep (cgroup-sweep.ts) needs when it
 * was made to tell a process that reuses an owner's pid: that one started after.
 */
export function keepTimes(dir: string): void {
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {}
}

function writeOptional(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {}
}

/** Removes one cgroup folder once its processes are gone, retrying for about a second while
 * they exit; a folder that is already gone is fine. */
export async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || attempt >= 50) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function readCounter(file: string, key: string): number {
  try {
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const [name, value] = line.split(" ");
      if (name === key) return Number(value);
    }
  } catch {}
  return 0;
}

// Removes the cgroups that sandbox runs left behind when their process was killed (SIGKILL, OOM).
import { constants } from "node:fs";
import { access, readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { cgroupMounts, removeCgroupDir } from "./cgroup.ts";

const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/** `tormr-<pid>-<uuid>` (bwrap) and `tormr-docker-<pid>-<uuid>` (a Docker run's parent). */
const OWNED = new RegExp(`^tormr-(?:docker-)?(\\d+)-${UUID}$`);
/** `tormr-<uuid>`: bwrap's name before it named the owner, so only its age can tell. */
const UNOWNED = new RegExp(`^tormr-${UUID}$`);
/** A run fills its cgroup within milliseconds of making it, and empties it only to remove it. */
const UNOWNED_MIN_AGE_MS = 10 * 60_000;
/** Room for comparing a start time in ticks since boot with a folder's wall-clock mtime. */
const CLOCK_SLACK_MS = 10_000;
/** USER_HZ, the unit of the start time in /proc/<pid>/stat: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

let swept: Promise<number> | undefined;

/** Starts the sweep at the first call in this process; later calls get the same promise. */
export function sweepStaleCgroupsOnce(): Promise<number> {
  swept ??= sweepStaleCgroups();
  return swept;
}

/**
 * Removes stale sandbox cgroups (the cgroups below them first) and resolves to how many it
 * removed, counting each hierarchy's copy; never rejects, and skips whatever it cannot judge.
 *
 * Stale: named after a pid that is not this process's, whose process is gone or started after
 * the cgroup was made (so it only reuses the pid: two live processes never share one), and
 * with no task in it or below it. Looked for in every mounted hierarchy (v1 and v2): at the
 * root and two levels below it, and beside and inside this process's own cgroup.
 */
export async function sweepStaleCgroups(): Promise<number> {
  let removed = 0;
  try {
    const bootMs =
      Date.now() - Number((await readFile("/proc/uptime", "utf8")).split(" ")[0]) * 1000;
    const dirs = await findRunCgroups();
    // When each name's cgroups were made: the earliest of their times, since only the copies
    // the owner made itself are sure to keep theirs (keepTimes in cgroup.ts); the others' times
    // are when runc made them or when the kernel last loaded them, both later.
    const made = new Map<string, number>();
    for (const dir of dirs) {
      try {
        const { mtimeMs } = await stat(dir);
        made.set(basename(dir), Math.min(made.get(basename(dir)) ?? mtimeMs, mtimeMs));
      } catch {}
    }
    for (const dir of dirs) {
      const madeMs = made.get(basename(dir));
      try {
        if (madeMs === undefined || !(await isStale(basename(dir), madeMs, bootMs))) continue;
        if (await removeTree(dir)) removed++;
      } catch {}
    }
  } catch {}
  return removed;
}

async function findRunCgroups(): Promise<string[]> {
  const ownPaths = (await readFile("/proc/self/cgroup", "utf8"))
    .split("\n")
    .map((line) => line.split(":")[2])
    .filter((path): path is string => path !== undefined && path !== "/");
  const places = new Set<string>();
  for (const mount of cgroupMounts()) {
    places.add(mount);
    // Not into runs' own cgroups: nothing to find there.
    for (const child of (await subdirs(mount)).filter(notRun)) {
      places.add(child);
      for (const grandchild of (await subdirs(child)).filter(notRun)) places.add(grandchild);
    }
    // Each line's path in every mount: a path of another hierarchy just does not exist here.
    for (const path of ownPaths) {
      places.add(join(mount, path));
      places.add(dirname(join(mount, path)));
    }
  }
  const found: string[] = [];
  for (const place of places) {
    for (const dir of await subdirs(place)) {
      if (OWNED.test(basename(dir)) || UNOWNED.test(basename(dir))) found.push(dir);
    }
  }
  return found;
}

const notRun = (dir: string) => !basename(dir).startsWith("tormr-");

/** The folders in `dir` (the cgroups below it); none when it cannot be read. */
async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

/** Whether the owner named in `name` is gone; a time later than the real one only keeps more. */
async function isStale(name: string, madeMs: number, bootMs: number): Promise<boolean> {
  const owner = OWNED.exec(name)?.[1];
  if (owner === undefined) return Date.now() - madeMs > UNOWNED_MIN_AGE_MS;
  const pid = Number(owner);
  if (pid === process.pid) return false;
  const started = await startedAt(pid, bootMs);
  return started === undefined || started > madeMs + CLOCK_SLACK_MS;
}

/** When process `pid` started (ms since the epoch); undefined when there is none. */
async function startedAt(pid: number, bootMs: number): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // The command name, in parentheses, may hold spaces and ")": count from the last ")".
  // proc(5): field 22, starttime, is the 20th after it.
  const ticks = Number(text.slice(text.lastIndexOf(")") + 2).split(" ")[19]);
  if (!Number.isFinite(ticks)) throw new Error(`expected a start time in /proc/${pid}/stat`);
  return bootMs + (ticks * 1000) / TICKS_PER_SECOND;
}

/** Removes `dir` and the cgroups below it, deepest first, unless a task is in any of them;
 * whether `dir` is gone. */
async function removeTree(dir: string): Promise<boolean> {
  const tree = [dir];
  for (let i = 0; i < tree.length; i++) tree.push(...(await subdirs(tree[i] as string)));
  for (const cgroup of tree) {
    // v1 and v2 alike list a cgroup's own tasks only, not those of the cgroups below it.
    if ((await readFile(join(cgroup, "cgroup.procs"), "utf8")).trim() !== "") return false;
  }
  // Without the right to remove it (not root), removeCgroupDir would retry for a second.
  await access(dirname(dir), constants.W_OK);
  for (const cgroup of tree.reverse()) await removeCgroupDir(cgroup);
  try {
    await stat(dir);
    return false;
  } catch {
    return true;
  }
}

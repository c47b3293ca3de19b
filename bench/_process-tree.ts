// Tracks the peak resident memory of a process and all its descendants by polling /proc.
import { readdirSync, readFileSync } from "node:fs";

export interface PeakProcess {
  pid: number;
  /** What the process that peaked was running, e.g. `node task-worker.ts`. */
  command: string;
  /** Its high-water mark of resident memory (VmHWM), in bytes. */
  bytes: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined; // the process ended between listing and reading
  }
}

/** Parent pid of every live process. The comm field may hold spaces and parentheses, hence lastIndexOf. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const name of readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    map.set(Number(name), ppid);
  }
  return map;
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents()) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const found = [root];
  for (let i = 0; i < found.length; i++) found.push(...(children.get(found[i] ?? -1) ?? []));
  return found;
}

function highWaterMark(pid: number): number | undefined {
  const match = /^VmHWM:\s+([0-9]+) kB/m.exec(read(`/proc/${pid}/status`) ?? "");
  return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
}

/** The program and the script it runs, as base names: `node tormr.js`, `python3 mapper.py`. */
function commandLine(pid: number): string {
  const args = (read(`/proc/${pid}/cmdline`) ?? "").split("\0").filter(Boolean);
  // Loaders such as tsx's come as arguments too; the script is the first one that is not a package's.
  const first = args.findIndex(
    (arg, i) => i > 0 && /\.(m?[jt]s|py)$/.test(arg) && !arg.includes("node_modules/"),
  );
  const shown = [args[0], first > 0 ? args[first] : undefined];
  return shown
    .filter((arg) => arg !== undefined)
    .map((arg) => arg.split("/").pop())
    .join(" ");
}

/**
 * Polls every `intervalMs` (about 100 ms) until stopped. VmHWM is each process's own
 * peak, so growth between polls is not missed; only a process that lives less than one
 * interval can escape.
 */
export function watchProcessTree(root: number, intervalMs = 100): { stop(): PeakProcess } {
  let peak: PeakProcess = { pid: root, command: "", bytes: 0 };
  const poll = () => {
    for (const pid of descendants(root)) {
      const bytes = highWaterMark(pid);
      // Read the command only now: a child seen just after fork still shows its parent's.
      if (bytes !== undefined && bytes > peak.bytes)
        peak = { pid, command: commandLine(pid), bytes };
    }
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

// The workers the console started on this machine, per job, as its server and its pages both see them.
import type { ChildProcess } from "node:child_process";

export interface LocalWorker {
  index: number;
  pid: number | undefined;
  /** running | exited */
  state: "running" | "exited";
  exitCode: number | null;
  startedAt: string;
  /** The last lines it printed, for when it fails. */
  tail: string[];
}

export interface Entry extends LocalWorker {
  child: ChildProcess;
}

/**
 * One registry per process: the console's server and the pages Next renders in the same process
 * must see the same workers, and Next bundles its own copy of this module.
 */
const REGISTRY = Symbol.for("tormr.console.localWorkers");
type Registry = Map<string, Entry[]>;
export const registry = (): Registry => {
  const store = globalThis as { [REGISTRY]?: Registry };
  store[REGISTRY] ??= new Map();
  return store[REGISTRY];
};

/** The job's local workers as the pages show them. */
export function localWorkers(jobId: string): LocalWorker[] {
  return (registry().get(jobId) ?? []).map(({ child: _, ...worker }) => ({
    ...worker,
    tail: [...worker.tail],
  }));
}

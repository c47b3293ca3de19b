// Everything the CLI takes from its process, in one object, so tests can run commands in-process.
import type { WorkerEnv } from "../env.ts";
import type { runWorkerLoop } from "../worker-loop.ts";
import type { SandboxProbes } from "./pick-sandbox.ts";
import type { SignalSource } from "./stop-signals.ts";

export type Output = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

export interface CliIo {
  stdout: Output;
  /** Progress, notices and errors. A TTY gets a live line; anything else gets JSON lines. */
  stderr: Output;
  /** Read for the "join this job?" question. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  cwd: string;
  env: WorkerEnv;
  pid: number;
  now: () => Date;
  /** Loaded only by `start`, so --help and usage errors never load the task engine. */
  loadWorkerLoop: () => Promise<typeof runWorkerLoop>;
  probes: SandboxProbes;
  /** Free bytes on the filesystem holding a folder (statfs by default). */
  freeBytes?: (path: string) => Promise<number>;
  signals: SignalSource;
  /** Quits at once (a second Ctrl-C). */
  exit: (code: number) => void;
}

// The one interface both sandbox backends (Docker and bubblewrap) implement.
import type { ChildProcessWithoutNullStreams } from "node:child_process";
import type { Readable, Writable } from "node:stream";

export interface SandboxLimits {
  /** Memory (and memory plus swap): going over it kills the program, reason "memory". */
  memoryBytes: number;
  /** CPU share (Docker `--cpus`); bubblewrap has no share and only enforces `cpuSeconds`. */
  cpus: number;
  /** Processes and threads at once: forks past it fail. */
  pids: number;
  /** Size of the writable tmpfs at /tmp. */
  tmpfsBytes: number;
  /** CPU time (RLIMIT_CPU): past it the program is killed, reason "cpu". */
  cpuSeconds?: number;
}

export interface SandboxRun {
  /** argv run inside the sandbox (no shell unless you name one). */
  command: string[];
  /** Host folder mounted read-only at /job. */
  jobDir: string;
  /** Working folder inside the sandbox; /job by default. */
  cwd?: string;
  /** The whole environment inside; nothing is inherited from the host. PATH has a default. */
  env?: Record<string, string>;
  limits: SandboxLimits;
  /** Docker only: the image to run (see images.ts for the project's standard ones). */
  image?: string;
  /** Wall-clock limit: past it the program is killed, reason "timeout". */
  timeoutMs?: number;
}

export type SandboxExitReason = "memory" | "pids" | "cpu" | "timeout";

export interface SandboxExit {
  /** The program's exit code; 128 + signal number when a signal ended it inside the sandbox. */
  code: number | null;
  /** Set when the sandbox process itself ended by a signal (only after `kill()`). */
  signal: string | null;
  /** Which limit ended it, when one did. */
  reason?: SandboxExitReason;
}

export interface SandboxProcess {
  /** The program's stdin, with backpressure (`write()` returns false while the pipe is full). */
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Host pid of the process that holds the sandbox (the docker CLI or bwrap's wrapper). */
  readonly pid: number | undefined;
  /** Docker only: the container's name, accepted wherever docker takes an id. */
  readonly containerId?: string;
  /** Resolves once the program has exited and the sandbox is cleaned up; never rejects. */
  readonly exited: Promise<SandboxExit>;
  /** Kills the program and everything it started. Safe to call more than once. */
  kill(): void;
}

export interface Sandbox {
  readonly kind: "docker" | "bwrap";
  spawn(run: SandboxRun): SandboxProcess;
}

export class SandboxError extends Error {
  override readonly name = "SandboxError";
  constructor(
    readonly code: "ERR_NO_SANDBOX" | "ERR_BAD_RUN" | "ERR_DOCKERD" | "ERR_IMAGE",
    message: string,
  ) {
    super(message);
  }
}

export const DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin";

/** Checks a run before anything starts, naming the bad field. */
export function checkRun(run: SandboxRun): void {
  if (run.command.length === 0) {
    throw new SandboxError("ERR_BAD_RUN", "expected a non-empty command, got []");
  }
  if (!run.jobDir.startsWith("/")) {
    throw new SandboxError("ERR_BAD_RUN", `expected an absolute jobDir, got '${run.jobDir}'`);
  }
  for (const [name, value] of Object.entries(run.limits)) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new SandboxError("ERR_BAD_RUN", `expected limits.${name} > 0, got ${value}`);
    }
  }
}

/** The environment inside: the caller's, over a default PATH and HOME. */
export function sandboxEnv(run: SandboxRun): Record<string, string> {
  return { PATH: DEFAULT_PATH, HOME: "/tmp", ...run.env };
}

/** A child process's `close`, never rejecting (a spawn error counts as exit code 127). */
export function childClosed(
  child: ChildProcessWithoutNullStreams,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    child.once("error", () => resolve({ code: 127, signal: null }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
}

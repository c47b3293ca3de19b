// Starts a task's streaming programs inside a sandbox: its working folder read-only at /job, nothing else of the host.
import type { Launcher } from "@tormr/mapreduce/streaming-process";
import {
  DEFAULT_PATH,
  type Sandbox,
  type SandboxLimits,
  type SandboxProcess,
} from "@tormr/sandbox/sandbox";

/** What a local run gives each sandboxed program unless told otherwise. */
export const DEFAULT_TASK_LIMITS: SandboxLimits = {
  memoryBytes: 512 * 1024 ** 2,
  cpus: 1,
  pids: 64,
  tmpfsBytes: 256 * 1024 ** 2,
};

/**
 * The task's own environment: what the engine added to the host's (the `mapreduce_*` variables,
 * `-D` keys, `-cmdenv`), never the host's own. PATH finds shipped files in /job first, as the
 * task folder comes first outside.
 */
export function sandboxedEnv(env: NodeJS.ProcessEnv, host: NodeJS.ProcessEnv = process.env) {
  const inside: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && key !== "PATH" && host[key] !== value) inside[key] = value;
  }
  inside.PATH = `/job:${DEFAULT_PATH}`;
  return inside;
}

export function sandboxLauncher(
  sandbox: Sandbox,
  options: {
    limits?: SandboxLimits;
    image?: string;
    /** Told of each sandboxed program as it starts, e.g. to record its container id. */
    onSpawn?: (process: SandboxProcess) => void;
  } = {},
): Launcher {
  return (command, { cwd, env }) => {
    const child = sandbox.spawn({
      command: ["/bin/sh", "-c", command],
      jobDir: cwd,
      cwd: "/job",
      env: sandboxedEnv(env),
      limits: options.limits ?? DEFAULT_TASK_LIMITS,
      ...(options.image ? { image: options.image } : {}),
    });
    options.onSpawn?.(child);
    return {
      stdin: child.stdin,
      stdout: child.stdout,
      stderr: child.stderr,
      exited: child.exited.then(({ code, signal, reason }) => ({
        code,
        signal,
        ...(reason ? { reason } : {}),
      })),
      kill: () => child.kill(),
    };
  };
}

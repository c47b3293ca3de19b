// Picks the sandbox this machine can run: Docker when a daemon answers, else bubblewrap.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { BwrapSandbox, bwrapFlags } from "./bwrap.ts";
import { DockerSandbox } from "./docker.ts";
import { dockerAnswers } from "./dockerd.ts";
import { type Sandbox, SandboxError } from "./sandbox.ts";

const exec = promisify(execFile);

export interface DetectOptions {
  /** DOCKER_HOST to try; the environment's when absent. */
  dockerHost?: string;
}

/** Whether bwrap runs a program with the flags the backend uses (cgroups aside). */
export async function bwrapWorks(): Promise<boolean> {
  const flags = bwrapFlags({
    command: ["true"],
    jobDir: "/usr",
    limits: { memoryBytes: 1, cpus: 1, pids: 1, tmpfsBytes: 1024 * 1024 },
  });
  try {
    await exec("bwrap", [...flags, "--", "true"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

export async function detectSandbox(options: DetectOptions = {}): Promise<Sandbox> {
  if (await dockerAnswers(options.dockerHost)) {
    return new DockerSandbox(options.dockerHost === undefined ? {} : { host: options.dockerHost });
  }
  if (await bwrapWorks()) return new BwrapSandbox();
  throw new SandboxError(
    "ERR_NO_SANDBOX",
    "no sandbox: no docker daemon answers (DOCKER_HOST) and bwrap does not run; " +
      "install docker.io and start dockerd, or install bubblewrap",
  );
}

// Chooses the sandbox `start` runs tasks in: the one asked for, or Docker when a daemon answers, else bwrap.
import { BwrapSandbox } from "@tormr/sandbox/bwrap";
import { bwrapWorks } from "@tormr/sandbox/detect";
import { DockerSandbox } from "@tormr/sandbox/docker";
import { dockerAnswers } from "@tormr/sandbox/dockerd";
import { ensureImage, type ImageKind } from "@tormr/sandbox/images";
import { type Sandbox, SandboxError } from "@tormr/sandbox/sandbox";

/** What the machine offers; tests pass fakes. */
export interface SandboxProbes {
  dockerAnswers(host?: string): Promise<boolean>;
  bwrapWorks(): Promise<boolean>;
  ensureImage(kind: ImageKind, host?: string): Promise<string>;
}

export const machineProbes: SandboxProbes = {
  dockerAnswers: (host) => dockerAnswers(host),
  bwrapWorks,
  ensureImage: (kind, host) => ensureImage(kind, host === undefined ? {} : { host }),
};

export interface PickSandboxOptions {
  choice: "auto" | "docker" | "bwrap";
  dockerHost?: string;
  probes: SandboxProbes;
}

/** @throws SandboxError ERR_NO_SANDBOX saying what to install or start. */
export async function pickSandbox(options: PickSandboxOptions): Promise<Sandbox> {
  const { choice, dockerHost, probes } = options;
  const docker = () => new DockerSandbox(dockerHost === undefined ? {} : { host: dockerHost });
  const where = dockerHost ?? "DOCKER_HOST or the default socket";
  if (choice === "docker") {
    if (await probes.dockerAnswers(dockerHost)) return docker();
    throw new SandboxError(
      "ERR_NO_SANDBOX",
      `sandbox docker was asked for, but no Docker daemon answers at ${where}; start dockerd ` +
        "(rootless Docker works), set dockerHost, or use --sandbox bwrap",
    );
  }
  if (choice === "bwrap") {
    if (await probes.bwrapWorks()) return new BwrapSandbox();
    throw new SandboxError(
      "ERR_NO_SANDBOX",
      "sandbox bwrap was asked for, but bwrap does not run here; install bubblewrap " +
        "(apt-get install bubblewrap) and allow user namespaces, or use --sandbox docker",
    );
  }
  if (await probes.dockerAnswers(dockerHost)) return docker();
  if (await probes.bwrapWorks()) return new BwrapSandbox();
  throw new SandboxError(
    "ERR_NO_SANDBOX",
    `no sandbox: no Docker daemon answers at ${where} and bwrap does not run; start dockerd ` +
      "or install bubblewrap (or, knowing what it gives up, pass --unsafe-no-sandbox)",
  );
}

// Packs tormr-worker with scripts/pack.mjs and installs the tarball into a temporary prefix, once per test file.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const PACK_SCRIPT = join(import.meta.dirname, "..", "scripts", "pack.mjs");

export interface PackedWorker {
  /** The installed `tormr-worker` (a symlink to the bundle, run through its #! line). */
  bin: string;
  tarball: string;
  /** PATH with this Node first, and an environment free of the calling npm's settings. */
  env: NodeJS.ProcessEnv;
  /** Removes the install once every caller in this file has called it. */
  cleanup(): Promise<void>;
}

interface Built {
  root: string;
  bin: string;
  tarball: string;
  env: NodeJS.ProcessEnv;
}

let built: Promise<Built> | undefined;
let users = 0;

/** An environment without npm_* variables: `npm test` sets some that would steer the inner npm. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.toLowerCase().startsWith("npm_")) env[key] = value;
  }
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? "/usr/bin:/bin"}`;
  return env;
}

async function build(): Promise<Built> {
  const root = await mkdtemp(join(tmpdir(), "tormr-worker-pack-"));
  const env = { ...cleanEnv(), npm_config_cache: join(root, "npm-cache") };
  try {
    const packed = await exec(process.execPath, [PACK_SCRIPT, "--out-dir", join(root, "dist")], {
      env,
    });
    const tarball = packed.stdout.trim().split("\n").pop() as string;
    const prefix = join(root, "prefix");
    // --offline: the package has no dependencies, so nothing may need the registry.
    await exec(
      "npm",
      ["install", "--global", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", tarball],
      { env, cwd: root },
    );
    return { root, tarball, bin: join(prefix, "bin", "tormr-worker"), env: cleanEnv() };
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** Builds, packs and installs tormr-worker (cached for the test file), and says where its bin is. */
export async function packWorker(): Promise<PackedWorker> {
  built ??= build();
  users++;
  const { root, bin, tarball, env } = await built;
  let released = false;
  return {
    bin,
    tarball,
    env,
    async cleanup() {
      if (released) return;
      released = true;
      users--;
      if (users === 0) {
        built = undefined;
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

// The built Next app that the board and the console serve: built again when missing or older than a source file.
import { spawnSync } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

export const APP = join(import.meta.dirname, "..", "..");
const NEXT_BIN = createRequire(import.meta.url).resolve("next/dist/bin/next");

/** No build yet, or a source file newer than it: a stale build would serve old code. */
async function buildIsStale(): Promise<boolean> {
  const built = await stat(join(APP, ".next", "BUILD_ID")).catch(() => undefined);
  if (!built) return true;
  const entries = await readdir(join(APP, "src"), { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name));
    if (info.mtimeMs > built.mtimeMs) return true;
  }
  return false;
}

/** Runs `next build` when the build is stale; `say` tells the user why they wait. */
export async function ensureBuilt(say: (line: string) => void, what: string): Promise<void> {
  if (!(await buildIsStale())) return;
  say(`building the ${what} (next build)`);
  const built = spawnSync(process.execPath, [NEXT_BIN, "build"], {
    cwd: APP,
    stdio: "ignore",
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
  });
  if (built.status !== 0)
    throw new Error("next build failed: run 'npm run build -w @tormr/web' to see why");
}

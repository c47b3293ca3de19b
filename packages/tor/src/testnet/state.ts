// The test network's folder: one pid file per tor as it starts (so `down` finds them even after a crash), and network.json once up.
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { TorError } from "../errors.ts";
import { processAlive, stopPid } from "../tor-process.ts";

export const STATE_FILE = "network.json";

const clientSchema = z.object({
  name: z.string(),
  controlPort: z.number().int(),
  socksPort: z.number().int(),
  dataDirectory: z.string(),
});

export const stateSchema = z.object({
  version: z.literal(1),
  dir: z.string(),
  startedAt: z.string(),
  bootstrapMs: z.number(),
  clients: z.array(clientSchema),
});

export type TestnetClient = z.infer<typeof clientSchema>;
export type TestnetState = z.infer<typeof stateSchema>;

export async function recordPid(dir: string, name: string, pid: number): Promise<void> {
  await mkdir(join(dir, "pids"), { recursive: true });
  await writeFile(join(dir, "pids", name), `${pid}\n`);
}

export async function writeState(state: TestnetState): Promise<void> {
  await writeFile(join(state.dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

export async function readState(dir: string): Promise<TestnetState> {
  const text = await readFile(join(dir, STATE_FILE), "utf8").catch(() => undefined);
  const parsed = text === undefined ? undefined : stateSchema.safeParse(JSON.parse(text));
  if (!parsed?.success) {
    throw new TorError(
      "ERR_TESTNET",
      `${dir} holds no running test network (no valid ${STATE_FILE})`,
    );
  }
  return parsed.data;
}

/**
 * The live tors recorded in `dir`. A pid counts only while its command line still names this
 * folder, so a pid the kernel has since given to another process is never signalled.
 */
export async function livePids(dir: string): Promise<number[]> {
  const names = await readdir(join(dir, "pids")).catch(() => [] as string[]);
  const pids: number[] = [];
  for (const name of names) {
    const pid = Number((await readFile(join(dir, "pids", name), "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) continue;
    const command = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (command.includes(dir)) pids.push(pid);
  }
  return pids;
}

/** Stops every tor recorded in `dir` (SIGTERM, then SIGKILL), then removes the folder unless `keep`. */
export async function stopRecorded(dir: string, options: { keep?: boolean } = {}): Promise<number> {
  const pids = await livePids(dir);
  await Promise.all(pids.map((pid) => stopPid(pid, 3000)));
  if (!options.keep) await rm(dir, { recursive: true, force: true });
  return pids.length;
}

/**
 * SIGKILLs every tor recorded in `dir`, synchronously: for 'exit' and signal handlers, where
 * nothing asynchronous runs any more.
 */
export function killRecordedSync(dir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, "pids"));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      const pid = Number(readFileSync(join(dir, "pids", name), "utf8").trim());
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
    } catch {}
  }
}

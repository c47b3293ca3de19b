// The test network's folder: one pid file per tor as it starts (so `down` finds them even after a crash), and network.json once up.
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { TorError } from "../errors.ts";
import { processAlive, stopPid } from "../tor-process.ts";
import type { AuthorityLine } from "./node-options.ts";

export const STATE_FILE = "network.json";
/** Version 2 added what a node joining later needs (authorities, emptyFile) and the started tors' names. */
export const STATE_VERSION = 2;

export const testnetClientSchema = z.object({
  name: z.string(),
  controlPort: z.number().int(),
  socksPort: z.number().int(),
  dataDirectory: z.string(),
});

const fingerprint = z.string().regex(/^[0-9A-F]{40}$/, "expected 40 upper-case hex digits");

const authoritySchema = z.object({
  nickname: z.string(),
  orPort: z.number().int(),
  dirPort: z.number().int(),
  v3ident: fingerprint,
  fingerprint,
}) satisfies z.ZodType<AuthorityLine>;

export const stateSchema = z.object({
  version: z.literal(STATE_VERSION),
  dir: z.string(),
  startedAt: z.string(),
  bootstrapMs: z.number(),
  /** The tors the network started, by pid file name; clients added later are not listed. */
  nodes: z.array(z.string()).min(1),
  /** Every node's DirAuthority lines: what a client added later needs, with `emptyFile`. */
  authorities: z.array(authoritySchema).min(1),
  /** The empty GeoIPFile and GeoIPv6File. */
  emptyFile: z.string(),
  clients: z.array(testnetClientSchema),
});

export type TestnetClient = z.infer<typeof testnetClientSchema>;
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
  let json: unknown;
  try {
    json = text === undefined ? undefined : JSON.parse(text);
  } catch {}
  const parsed = stateSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const version = (json as { version?: unknown } | undefined)?.version;
  const why =
    json === undefined
      ? `no valid ${STATE_FILE}`
      : version !== STATE_VERSION
        ? `${STATE_FILE} has version ${String(version)}, expected ${STATE_VERSION}: stop it with 'tormr-testnet down --dir ${dir}' and start it again`
        : `${STATE_FILE} is malformed: ${parsed.error.issues[0]?.message}`;
  throw new TorError("ERR_TESTNET", `${dir} holds no running test network (${why})`);
}

export interface RecordedTor {
  /** The pid file's name: the tor's folder under the network's. */
  name: string;
  pid: number;
  alive: boolean;
}

/**
 * Every tor with a pid file in `dir`. A pid counts as alive only while its command line still
 * names this folder, so a pid the kernel has since given to another process is never signalled.
 */
export async function recordedTors(dir: string): Promise<RecordedTor[]> {
  const names = await readdir(join(dir, "pids")).catch(() => [] as string[]);
  const tors: RecordedTor[] = [];
  for (const name of names.sort()) {
    const pid = Number((await readFile(join(dir, "pids", name), "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const command = processAlive(pid)
      ? await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")
      : "";
    tors.push({ name, pid, alive: command.includes(dir) });
  }
  return tors;
}

/** The live tors recorded in `dir`. */
export async function livePids(dir: string): Promise<number[]> {
  return (await recordedTors(dir)).filter((tor) => tor.alive).map((tor) => tor.pid);
}

/** Why `state`'s network cannot be used, or undefined when every tor it started still runs. */
export async function networkProblem(state: TestnetState): Promise<string | undefined> {
  const alive = new Set(
    (await recordedTors(state.dir)).filter((tor) => tor.alive).map((tor) => tor.name),
  );
  const gone = state.nodes.filter((name) => !alive.has(name));
  if (gone.length === 0) return undefined;
  return `${gone.length} of its ${state.nodes.length} tors are not running: ${gone.join(", ")}`;
}

/** Stops every tor recorded in `dir` (SIGTERM, then SIGKILL), then removes the folder unless `keep`. */
export async function stopRecorded(dir: string, options: { keep?: boolean } = {}): Promise<number> {
  const pids = await livePids(dir);
  await Promise.all(pids.map((pid) => stopPid(pid, 3000)));
  if (!options.keep) await rm(dir, { recursive: true, force: true });
  return pids.length;
}

/**
 * SIGKILLs the tors recorded in `dir` (those whose name `only` accepts, if given), synchronously:
 * for 'exit' and signal handlers, where nothing asynchronous runs any more.
 */
export function killRecordedSync(dir: string, only?: (name: string) => boolean): void {
  let names: string[] = [];
  try {
    names = readdirSync(join(dir, "pids"));
  } catch {
    return;
  }
  for (const name of names) {
    if (only && !only(name)) continue;
    try {
      const pid = Number(readFileSync(join(dir, "pids", name), "utf8").trim());
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir)) process.kill(pid, "SIGKILL");
    } catch {}
  }
}

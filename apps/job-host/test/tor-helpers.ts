// Tor for the job host's tests: tors added to the run's private network, `tormr host --tor` on one, STREAM events seen by another.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseStream, type StreamEvent, subscribe } from "@tormr/tor/control/events";
import { type AddedTestnetClient, addTestnetClient } from "@tormr/tor/testnet/add-client";
import { afterAll, beforeAll, inject } from "vitest";
import type {} from "../../../packages/tor/src/testnet/vitest-setup.ts";
import {
  type HostProcess,
  killAll,
  startHostProcess,
  TORMR_WORKER,
  type WorkerProcess,
} from "./cluster-helpers.ts";
import { fixture, jobSpec, type Workspace, workspace } from "./helpers.ts";

/** Tor is slower to notice than loopback: heartbeats stay quick, silence is judged over seconds. */
export const TOR_HOST = ["--heartbeat-ms", "500", "--timeout-ms", "15000", "--poll-ms", "2000"];

/** `count` tors of the test's own on the run's network, started at once (about 3 s). */
export function addTors(count: number): Promise<AddedTestnetClient[]> {
  const testnet = inject("testnet");
  return Promise.all(Array.from({ length: count }, () => addTestnetClient(testnet)));
}

/** `tormr host --tor` publishing through `tor`; resolves once its onion's descriptor is up. */
export function startTorHost(stateDir: string, tor: AddedTestnetClient): Promise<HostProcess> {
  return startHostProcess(stateDir, [
    "--tor",
    "--tor-control",
    `127.0.0.1:${tor.client.controlPort}`,
    ...TOR_HOST,
  ]);
}

/** The `--tor --tor-control` flags of a worker that reaches the job host through `tor`. */
export function workerTorFlags(tor: AddedTestnetClient): string[] {
  return ["--tor", "--tor-control", `127.0.0.1:${tor.client.controlPort}`];
}

/** Records the STREAM events of a tor (control-spec §4.1.2): proof that traffic crossed it. */
export async function watchStreams(
  tor: AddedTestnetClient,
): Promise<{ events: StreamEvent[]; stop(): Promise<void> }> {
  const events: StreamEvent[] = [];
  const stop = await subscribe(tor.tor.control, "STREAM", (event) =>
    events.push(parseStream(event)),
  );
  return { events, stop };
}

/** The job host's log lines (JSON) of one event. */
export function hostEvents(host: HostProcess, event: string): Record<string, unknown>[] {
  return host.log
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.event === event);
}

/** Waits until `check` is true, polling every 100 ms. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface TorSuite {
  /** The input files. */
  w: Workspace;
  /** The suite's own folder. */
  dir: string;
  /** tors[0] is the job host's; the others are the suite's to use. */
  tors: AddedTestnetClient[];
  host: HostProcess;
  /** Workers the suite started: killed at the end. */
  workers: WorkerProcess[];
}

/**
 * A suite's job host over Tor: input files, `tors` tors of its own on the run's network,
 * `tormr host --tor` on the first, and a teardown that stops every process and tor it made.
 */
export function torSuite(options: {
  name: string;
  tors: number;
  input: Parameters<typeof workspace>;
}): TorSuite {
  const suite = { workers: [], tors: [] } as unknown as TorSuite;
  beforeAll(async () => {
    suite.w = workspace(...options.input);
    suite.dir = mkdtempSync(join(tmpdir(), `tormr-${options.name}-`));
    suite.tors = await addTors(options.tors);
    suite.host = await startTorHost(join(suite.dir, "host"), suite.tors[0] as AddedTestnetClient);
  }, 120_000);
  afterAll(async () => {
    await killAll(suite.host, suite.workers);
    await Promise.all(suite.tors.map((tor) => tor.stop()));
    if (suite.dir) rmSync(suite.dir, { recursive: true, force: true });
    suite.w?.cleanup();
  });
  return suite;
}

/** The Python word count over the suite's input, with 2 reducers, into `<input dir>/out`. */
export function wordCountJob(w: Workspace) {
  return jobSpec({
    inputs: [w.input],
    output: join(w.dir, "out"),
    task: { kind: "streaming", mapper: "python3 wc_mapper.py", reducer: "python3 wc_reducer.py" },
    files: [fixture("wc_mapper.py"), fixture("wc_reducer.py")],
    numReduceTasks: 2,
  });
}

/** A board worker that takes one task at a time (`--slots 1`). */
export const ONE_SLOT = ["--slots", "1"];

/** `tormr-worker start --board` through its own tor, in bubblewrap; `extra` flags go before `--yes`. */
export function startBoardWorker(
  board: string,
  dir: string,
  tor: AddedTestnetClient,
  extra: readonly string[] = [],
): WorkerProcess {
  const child = spawn(
    process.execPath,
    [
      TORMR_WORKER,
      "start",
      "--board",
      `http://${board}.onion`,
      "--tor-control",
      `127.0.0.1:${tor.client.controlPort}`,
      "--config-dir",
      join(dir, "config"),
      "--work-dir",
      join(dir, "work"),
      "--disk-quota-mb",
      "256",
      "--sandbox",
      "bwrap",
      ...extra,
      "--yes",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const output: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on("line", (line) => output.push(line));
  }
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { pseudonym: "", process: child, output, exited };
}

// Tor for the job host's tests: tors added to the run's private network, `tormr host --tor` on one, STREAM events seen by another.

import { parseStream, type StreamEvent, subscribe } from "@tormr/tor/control/events";
import { type AddedTestnetClient, addTestnetClient } from "@tormr/tor/testnet/add-client";
import { inject } from "vitest";
import type {} from "../../../packages/tor/src/testnet/vitest-setup.ts";
import { type HostProcess, startHostProcess } from "./cluster-helpers.ts";

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

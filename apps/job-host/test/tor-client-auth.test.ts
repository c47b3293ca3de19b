import { join } from "node:path";
import { loadOrCreateClientAuthKey } from "@tormr/tor/client-auth-file";
import { onionClientAuthAdd } from "@tormr/tor/control/client-auth";
import { fetchThroughSocks } from "@tormr/tor/socks5-connect";
import type { AddedTestnetClient } from "@tormr/tor/testnet/add-client";
import { describe, expect, it } from "vitest";
import { adminClient, startWorkerProcess, TORMR_WORKER, waitForJob } from "./cluster-helpers.ts";
import { readParts, wordCountOracle } from "./helpers.ts";
import {
  hostEvents,
  startTorHost,
  torSuite,
  until,
  wordCountJob,
  workerTorFlags,
} from "./tor-helpers.ts";

const suite = torSuite({ name: "tor-auth", tors: 3, input: [2, 20_000, 43] });

/**
 * The SOCKS refusal a plain fetch of the onion through `tor` gets, asked again (each time on a
 * fresh circuit) while it times out: the answer that matters is tor's, not a slow circuit's.
 */
async function probe(tor: AddedTestnetClient, onion: string): Promise<unknown> {
  const deadline = Date.now() + 90_000;
  for (let attempt = 0; ; attempt++) {
    const error = await fetchThroughSocks({
      proxy: { port: tor.client.socksPort },
      host: onion,
      port: 80,
      auth: { username: `probe-${attempt}`, password: "x" },
      timeoutMs: 20_000,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    if ((error as { code?: string })?.code !== "ERR_TOR_TIMEOUT" || Date.now() > deadline) {
      return error;
    }
  }
}

describe("client authorization on the worker onion", () => {
  it("refuses a worker whose key it does not know, lets the known one in, and nobody once the job is over", async () => {
    const { w, dir, tors, workers, host: started } = suite;
    const onion = new URL(started.workerUrl).hostname;
    const [, knownTor, strangerTor] = tors as [
      AddedTestnetClient,
      AddedTestnetClient,
      AddedTestnetClient,
    ];
    const admin = adminClient(started);
    const spec = wordCountJob(w);
    // The known worker's key, as the board (or its volunteer) would hand it over before it joins.
    const knownKey = await loadOrCreateClientAuthKey(
      join(dir, "known", "config", "tor-client-auth.json"),
    );
    const { jobId } = await admin.createJob(spec, 0);
    const [ticket] = await admin.ticketsFor(jobId, [knownKey.publicKey]);
    await until("the onion restricted to the known key", () =>
      hostEvents(started, "onion-clients").some((e) => e.clients === 1),
    );

    // Without any key: tor refuses, and says why.
    const bare = await probe(strangerTor, onion);
    expect(bare).toMatchObject({ code: "ERR_SOCKS", socksReply: 0xf4 });

    // A worker with a key of its own, not the cluster's: it cannot reach the job host, and says so.
    const stranger = await startWorkerProcess(
      started.workerUrl,
      ticket as string,
      join(dir, "stranger"),
      "none",
      {},
      TORMR_WORKER,
      workerTorFlags(strangerTor),
    );
    workers.push(stranger);
    expect(await stranger.exited).toBe(5);
    expect(stranger.output.join("\n")).toMatch(
      /cannot reach the job host at http:\/\/[a-z2-7]{56}\.onion: [a-z2-7]{56}\.onion (needs client authorization|refused this client's authorization key)/,
    );

    // The known worker, with the same ticket (the stranger never got to use it), runs the job.
    const known = await startWorkerProcess(
      started.workerUrl,
      ticket as string,
      join(dir, "known"),
      "none",
      {},
      TORMR_WORKER,
      workerTorFlags(knownTor),
    );
    workers.push(known);
    const final = await waitForJob(admin, jobId, undefined, 180_000);
    expect(final.state).toBe("succeeded");
    expect(readParts(spec.output)).toEqual(wordCountOracle(w.input));
    expect(await known.exited).toBe(0);

    // The job is over and its worker left: the onion lets nobody in, not even with the old key.
    await until("the onion closed to everyone", () =>
      hostEvents(started, "onion-clients").some((e) => e.clients === 0),
    );
    await onionClientAuthAdd(knownTor.tor.control, onion, knownKey.privateKey);
    const after = await probe(knownTor, onion);
    expect(after).toMatchObject({ code: "ERR_SOCKS" });
    expect([0xf4, 0xf5]).toContain((after as { socksReply: number }).socksReply);
  }, 300_000);

  it("comes back at the same onion address when the job host restarts", async () => {
    const before = suite.host;
    before.process.kill("SIGTERM");
    expect(await before.exited).toBe(0);
    suite.host = await startTorHost(join(suite.dir, "host"), suite.tors[0] as AddedTestnetClient);
    expect(suite.host.workerUrl).toBe(before.workerUrl);
    expect(hostEvents(suite.host, "onion-published")).toHaveLength(1);
  }, 120_000);

  it("stops, saying why, when its tor goes away (and the onion with it)", async () => {
    await (suite.tors[0] as AddedTestnetClient).stop();
    expect(await suite.host.exited).toBe(1);
    expect(suite.host.log.join("\n")).toContain(
      "lost tor's control connection (tor closed the control connection), and with it the onion",
    );
  }, 60_000);
});

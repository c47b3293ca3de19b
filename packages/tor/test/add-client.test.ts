// A client added to the running network: it bootstraps, reaches an onion served by the network's own client, and leaves nothing once stopped.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { watchDescriptorUpload } from "../src/control/events.ts";
import { bootstrapPhase } from "../src/control/get-info.ts";
import { addOnion, delOnion } from "../src/control/onion-service.ts";
import { addTestnetClient, removeTestnetClient } from "../src/testnet/add-client.ts";
import { recordedTors, testnetClientSchema } from "../src/testnet/state.ts";
import { processAlive } from "../src/tor-process.ts";
import { controlOf, fetchUntil, httpServer } from "./helpers.ts";

const testnet = inject("testnet");
const bin = new URL("../bin/tormr-testnet.js", import.meta.url).pathname;

describe("a client added to the running network", () => {
  it("fetches an onion of the network's first client, and stop() leaves no tor, pid file or folder", async () => {
    const host = await controlOf(testnet.clients[0]!);
    const { server, port } = await httpServer("hello, added client");
    const added = await addTestnetClient(testnet);
    const { name } = added.client;
    try {
      expect(name).toMatch(/^client\d+$/);
      expect(added.client.dataDirectory).toBe(join(testnet.dir, name));
      expect(await recordedTors(testnet.dir)).toContainEqual({
        name,
        pid: added.tor.pid,
        alive: true,
      });
      // The torrc of the network's own clients.
      const conf = await added.tor.control.send("GETCONF UseEntryGuards SocksPort");
      expect(conf.lines.map((line) => line.text)).toEqual([
        "UseEntryGuards=0",
        "SocksPort=127.0.0.1:auto ExtendedErrors",
      ]);

      const upload = await watchDescriptorUpload(host);
      const onion = await addOnion(host, {
        ports: [{ virtualPort: 80, target: port }],
        discardKey: true,
      });
      try {
        await upload.uploaded(onion.serviceId);
        await fetchUntil(added.client, onion.hostname, "hello, added client", 30_000);
      } finally {
        await delOnion(host, onion.serviceId);
      }
    } finally {
      await added.stop();
      server.close();
      await host.close();
    }
    expect(processAlive(added.tor.pid)).toBe(false);
    expect(existsSync(join(testnet.dir, "pids", name))).toBe(false);
    expect(existsSync(added.client.dataDirectory)).toBe(false);
    await added.stop();
  }, 45_000);

  it("refuses a name already taken and a name tor would refuse, starting nothing", async () => {
    const before = await recordedTors(testnet.dir);
    await expect(addTestnetClient(testnet, { name: "client0" })).rejects.toMatchObject({
      code: "ERR_TESTNET",
      message: `${testnet.dir} already has a node named client0`,
    });
    await expect(addTestnetClient(testnet, { name: "client-x" })).rejects.toMatchObject({
      code: "ERR_TOR_ARGUMENT",
      message: 'expected a client name of 1 to 19 letters and digits, got "client-x"',
    });
    await expect(removeTestnetClient(testnet, "auth0")).rejects.toMatchObject({
      code: "ERR_TOR_ARGUMENT",
    });
    expect(await recordedTors(testnet.dir)).toEqual(before);
  });

  it("tormr-testnet add-client prints a bootstrapped client; its tor outlives the command", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      bin,
      "add-client",
      "--dir",
      testnet.dir,
      "--name",
      "cliclient",
    ]);
    try {
      const client = testnetClientSchema.parse(JSON.parse(stdout));
      expect(client).toMatchObject({
        name: "cliclient",
        dataDirectory: join(testnet.dir, "cliclient"),
      });
      const control = await controlOf(client);
      expect((await bootstrapPhase(control)).progress).toBe(100);
      await control.close();
    } finally {
      await removeTestnetClient(testnet, "cliclient");
    }
    expect((await recordedTors(testnet.dir)).map((tor) => tor.name)).not.toContain("cliclient");
  }, 30_000);
});

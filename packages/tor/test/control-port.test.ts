// The control-port client against real tor daemons of the private network: authenticate, publish, fetch, delete, restore.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { authenticate, protocolInfo } from "../src/control/authenticate.ts";
import {
  parseStream,
  type StreamEvent,
  subscribe,
  watchDescriptorUpload,
} from "../src/control/events.ts";
import { bootstrapPhase, currentOnions, socksListeners } from "../src/control/get-info.ts";
import { addOnion, delOnion } from "../src/control/onion-service.ts";
import { TorControl } from "../src/control/tor-control.ts";
import { loadOnionKey, saveOnionKey, serviceIdFromKeyBlob } from "../src/onion-key.ts";
import { controlOf, fetchUntil, httpServer } from "./helpers.ts";

const testnet = inject("testnet");

describe("control port, against tor", () => {
  const [host, , visitor] = testnet.clients;
  let hostControl: TorControl;
  let visitorControl: TorControl;
  beforeAll(async () => {
    hostControl = await controlOf(host!);
    visitorControl = await controlOf(visitor!);
  });
  afterAll(async () => {
    await hostControl?.close();
    await visitorControl?.close();
  });

  it("authenticates with the cookie and with SAFECOOKIE", async () => {
    for (const method of ["COOKIE", "SAFECOOKIE"] as const) {
      const control = await TorControl.connect({ port: host!.controlPort });
      expect(await authenticate(control, { method })).toBe(method);
      expect((await bootstrapPhase(control)).progress).toBe(100);
      await control.close();
    }
    const control = await TorControl.connect({ port: host!.controlPort });
    const info = await protocolInfo(control);
    expect(info.methods).toEqual(expect.arrayContaining(["COOKIE", "SAFECOOKIE"]));
    expect(info.torVersion).toMatch(/^0\.4\./);
    await control.close();
    expect(await socksListeners(hostControl)).toEqual([
      { host: "127.0.0.1", port: host!.socksPort },
    ]);
  });

  it("refuses a wrong cookie with tor's own words", async () => {
    const control = await TorControl.connect({ port: host!.controlPort });
    const wrong = join(mkdtempSync(join(tmpdir(), "tormr-cookie-")), "cookie");
    writeFileSync(wrong, Buffer.alloc(32));
    await expect(
      authenticate(control, { method: "COOKIE", cookieFile: wrong }),
    ).rejects.toMatchObject({
      code: "ERR_TOR_AUTH",
      message: expect.stringMatching(/515 Authentication failed/),
    });
    await control.close();
  });

  it("adds an onion, serves a page through it, deletes it, and restores the address from the saved key", async () => {
    const { server, port } = await httpServer("hello over tor");
    const streams: StreamEvent[] = [];
    const unsubscribe = await subscribe(visitorControl, "STREAM", (event) =>
      streams.push(parseStream(event)),
    );
    try {
      const upload = await watchDescriptorUpload(hostControl);
      const onion = await addOnion(hostControl, {
        ports: [
          { virtualPort: 80, target: port },
          { virtualPort: 8080, target: port },
        ],
        maxStreams: 20,
      });
      await upload.uploaded(onion.serviceId);
      expect(serviceIdFromKeyBlob(onion.keyBlob!)).toBe(onion.serviceId);
      expect(await currentOnions(hostControl)).toContain(onion.serviceId);
      await fetchUntil(visitor!, onion.hostname, "hello over tor");
      // The traffic really crossed tor: the visitor's tor opened a stream to the onion.
      expect(streams).toContainEqual(
        expect.objectContaining({ status: "SUCCEEDED", target: `${onion.hostname}:80` }),
      );

      const keyPath = join(mkdtempSync(join(tmpdir(), "tormr-onion-")), "onion-key.json");
      await saveOnionKey(keyPath, { serviceId: onion.serviceId, keyBlob: onion.keyBlob! });
      await delOnion(hostControl, onion.serviceId);
      expect(await currentOnions(hostControl)).not.toContain(onion.serviceId);

      const saved = await loadOnionKey(keyPath);
      const restored = await addOnion(hostControl, {
        keyBlob: saved!.keyBlob,
        ports: [{ virtualPort: 80, target: port }],
        discardKey: true,
      });
      expect(restored.hostname).toBe(onion.hostname);
      await fetchUntil(visitor!, restored.hostname, "hello over tor", 60_000);
      await delOnion(hostControl, restored.serviceId);
    } finally {
      await unsubscribe();
      server.close();
    }
  });
});

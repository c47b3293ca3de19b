// v3 client authorization through real tors: without the key no way in, with it a page, after removal no way in again.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  generateClientAuthKeyPair,
  onionClientAuthAdd,
  onionClientAuthRemove,
} from "../src/control/client-auth.ts";
import { watchDescriptorUpload } from "../src/control/events.ts";
import { addOnion, delOnion } from "../src/control/onion-service.ts";
import type { TorControl } from "../src/control/tor-control.ts";
import { controlOf, fetchError, fetchUntil, httpServer } from "./helpers.ts";

const testnet = inject("testnet");

describe("v3 client authorization", () => {
  const [host, worker] = testnet.clients;
  let hostControl: TorControl;
  let workerControl: TorControl;
  beforeAll(async () => {
    hostControl = await controlOf(host!);
    workerControl = await controlOf(worker!);
  });
  afterAll(async () => {
    await hostControl?.close();
    await workerControl?.close();
  });

  it("keeps out a client without the key, lets it in with the key, and out again after removal", async () => {
    const { server, port } = await httpServer("members only");
    const keys = generateClientAuthKeyPair();
    const upload = await watchDescriptorUpload(hostControl);
    const onion = await addOnion(hostControl, {
      ports: [{ virtualPort: 80, target: port }],
      clientAuthV3: [keys.publicKey, generateClientAuthKeyPair().publicKey],
      discardKey: true,
    });
    try {
      await upload.uploaded(onion.serviceId);
      const refused = await fetchError(worker!, onion.hostname);
      expect(refused).toMatchObject({ code: "ERR_SOCKS", socksReply: 0xf4 });
      expect((refused as Error).message).toMatch(/needs client authorization/);

      await onionClientAuthAdd(workerControl, onion.hostname, keys.privateKey);
      await fetchUntil(worker!, onion.hostname, "members only");

      await onionClientAuthRemove(workerControl, onion.hostname);
      const removed = await fetchError(worker!, onion.hostname);
      // tor forgets the key and its decrypted descriptor, so it is refused as before (0xF4, not a timeout).
      expect(removed).toMatchObject({ code: "ERR_SOCKS", socksReply: 0xf4 });
    } finally {
      await delOnion(hostControl, onion.serviceId).catch(() => {});
      server.close();
    }
  });
});

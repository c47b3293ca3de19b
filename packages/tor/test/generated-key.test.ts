// A key made here without tor is one tor accepts, at the address computed here.
import { describe, expect, inject, it } from "vitest";
import { addOnion, delOnion } from "../src/control/onion-service.ts";
import { generateOnionKey } from "../src/onion-key.ts";
import { controlOf } from "./helpers.ts";

const testnet = inject("testnet");

describe("generateOnionKey", () => {
  it("gives tor a key it publishes under the address computed here", async () => {
    const control = await controlOf(testnet.clients[0]!);
    try {
      for (let i = 0; i < 3; i++) {
        const key = generateOnionKey();
        const added = await addOnion(control, {
          keyBlob: key.keyBlob,
          ports: [{ virtualPort: 80, target: 9 }],
        });
        expect(added.serviceId).toBe(key.serviceId);
        await delOnion(control, added.serviceId);
      }
    } finally {
      await control.close();
    }
  });
});

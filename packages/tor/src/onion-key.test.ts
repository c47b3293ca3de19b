import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { onionAddressVector as vector } from "../test/vectors.ts";
import { assertKeyMatches, loadOnionKey, saveOnionKey, serviceIdFromKeyBlob } from "./onion-key.ts";

/** The blob tor would hold for RFC 8032 TEST 1: SHA-512(seed), clamped (RFC 8032 §5.1.5). */
function testKeyBlob(): string {
  const expanded = createHash("sha512")
    .update(Buffer.from(vector.rfc8032Test1.seed, "hex"))
    .digest();
  expanded[0] = (expanded[0] ?? 0) & 248;
  expanded[31] = ((expanded[31] ?? 0) & 127) | 64;
  return `ED25519-V3:${expanded.toString("base64")}`;
}

describe("ED25519-V3 key blobs", () => {
  it("give tor's test address", () => {
    expect(serviceIdFromKeyBlob(testKeyBlob())).toBe(vector.serviceId);
    expect(() => assertKeyMatches(testKeyBlob(), "a".repeat(56))).toThrow(/belongs to 25njq/);
  });

  it("refuse anything but 64 bytes of ED25519-V3", () => {
    expect(() => serviceIdFromKeyBlob("RSA1024:abc")).toThrow(
      expect.objectContaining({ code: "ERR_ONION_KEY" }),
    );
    expect(() => serviceIdFromKeyBlob(`ED25519-V3:${Buffer.alloc(32).toString("base64")}`)).toThrow(
      /64 bytes/,
    );
  });
});

describe("onion key files", () => {
  const dir = mkdtempSync(join(tmpdir(), "tormr-onion-key-"));

  it("round-trips with mode 0600 in a 0700 folder", async () => {
    const path = join(dir, "service", "onion-key.json");
    await saveOnionKey(path, { serviceId: vector.serviceId, keyBlob: testKeyBlob() });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "service")).mode & 0o777).toBe(0o700);
    expect(await loadOnionKey(path)).toEqual({
      serviceId: vector.serviceId,
      keyBlob: testKeyBlob(),
    });
  });

  it("is undefined before the first save", async () => {
    expect(await loadOnionKey(join(dir, "none.json"))).toBeUndefined();
  });

  it("refuses a file others can read, saying how to fix it", async () => {
    const path = join(dir, "loose.json");
    await saveOnionKey(path, { serviceId: vector.serviceId, keyBlob: testKeyBlob() });
    chmodSync(path, 0o644);
    await expect(loadOnionKey(path)).rejects.toMatchObject({
      code: "ERR_ONION_KEY_PERMISSIONS",
      message: expect.stringContaining(`chmod 600 ${path}`),
    });
  });

  it("refuses a key that does not give its recorded address, or a file that is not one", async () => {
    const path = join(dir, "edited.json");
    await saveOnionKey(path, { serviceId: vector.serviceId, keyBlob: testKeyBlob() });
    const edited = JSON.parse(readFileSync(path, "utf8"));
    edited.serviceId = "a".repeat(56);
    writeFileSync(path, JSON.stringify(edited), { mode: 0o600 });
    await expect(loadOnionKey(path)).rejects.toMatchObject({
      code: "ERR_ONION_KEY_CORRUPT",
      message: /does not give/,
    });
    writeFileSync(path, "{", { mode: 0o600 });
    await expect(loadOnionKey(path)).rejects.toMatchObject({
      code: "ERR_ONION_KEY_CORRUPT",
      message: /not JSON/,
    });
  });

  it("will not save a key under another service's address", async () => {
    await expect(
      saveOnionKey(join(dir, "x.json"), { serviceId: "a".repeat(56), keyBlob: testKeyBlob() }),
    ).rejects.toMatchObject({ code: "ERR_ONION_KEY" });
  });
});

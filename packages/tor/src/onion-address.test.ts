import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { onionAddressVector as vector } from "../test/vectors.ts";
import { publicKeyFromScalar } from "./_ed25519.ts";
import { base32Decode, base32Encode } from "./base32.ts";
import { isOnionAddress, parseOnionAddress, serviceIdFromPublicKey } from "./onion-address.ts";

/** RFC 8032 §5.1.5: the secret scalar is SHA-512(seed)[0..32], clamped. */
function expandSeed(seed: Buffer): Buffer {
  const hash = createHash("sha512").update(seed).digest();
  hash[0] = (hash[0] ?? 0) & 248;
  hash[31] = ((hash[31] ?? 0) & 127) | 64;
  return hash;
}

function nodePublicKey(seed: Buffer): Buffer {
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  const jwk = createPublicKey(
    createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" }),
  ).export({ format: "jwk" });
  return Buffer.from(jwk.x ?? "", "base64url");
}

describe("v3 onion addresses (rend-spec-v3 §6)", () => {
  const publicKey = Buffer.from(vector.rfc8032Test1.publicKey, "hex");

  it("builds tor's test address from RFC 8032 TEST 1's public key", () => {
    expect(serviceIdFromPublicKey(publicKey)).toBe(vector.serviceId);
  });

  it("accepts it with or without .onion, in any case, and returns the key", () => {
    const parsed = parseOnionAddress(`${vector.serviceId.toUpperCase()}.onion`);
    expect(parsed.serviceId).toBe(vector.serviceId);
    expect(parsed.hostname).toBe(`${vector.serviceId}.onion`);
    expect(parsed.publicKey.equals(publicKey)).toBe(true);
    expect(isOnionAddress(`www.${vector.serviceId}.onion`)).toBe(true);
  });

  it("refuses a wrong length, alphabet, checksum or version, saying which", () => {
    const id = vector.serviceId;
    expect(() => parseOnionAddress(id.slice(1))).toThrow(/56 base32 characters, got 55/);
    expect(() => parseOnionAddress(`${id.slice(0, 55)}1`)).toThrow(/a-z and 2-7/);
    const flipped = `${id[0] === "a" ? "b" : "a"}${id.slice(1)}`;
    expect(() => parseOnionAddress(flipped)).toThrow(/checksum/);
    const bytes = base32Decode(id);
    bytes[34] = 4;
    expect(() => parseOnionAddress(base32Encode(bytes))).toThrow(/version byte 3, got 4/);
    expect(() => parseOnionAddress("example.com")).toThrow(
      expect.objectContaining({ code: "ERR_ONION_ADDRESS" }),
    );
  });
});

describe("[a]B from an expanded secret key", () => {
  it("gives RFC 8032 TEST 1's public key from its expanded seed", () => {
    const scalar = expandSeed(Buffer.from(vector.rfc8032Test1.seed, "hex")).subarray(0, 32);
    expect(publicKeyFromScalar(scalar).toString("hex")).toBe(vector.rfc8032Test1.publicKey);
  });

  it("agrees with node:crypto on 20 random keys", () => {
    for (let round = 0; round < 20; round++) {
      const { privateKey } = generateKeyPairSync("ed25519");
      const seed = Buffer.from(privateKey.export({ format: "jwk" }).d ?? "", "base64url");
      const scalar = expandSeed(seed).subarray(0, 32);
      expect(publicKeyFromScalar(scalar).equals(nodePublicKey(seed))).toBe(true);
    }
  });
});

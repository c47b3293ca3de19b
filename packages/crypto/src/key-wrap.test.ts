import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newBucketKey } from "./bucket-seal.ts";
import { CryptoError, DECRYPT_FAILED_MESSAGE, DecryptError } from "./errors.ts";
import {
  unwrapKey,
  WRAPPED_KEY_LENGTH,
  wrapKey,
  wrappedKeyFromString,
  wrappedKeyToString,
} from "./key-wrap.ts";
import { generateKeyPair, type RawKeyPair } from "./keys.ts";

const ID = "j/job_1/split/0/0";
const worker = generateKeyPair("X25519");
const bucketKey = newBucketKey();
const wrapped = wrapKey(bucketKey, ID, worker.publicKey);

function expectUnwrapFailure(w: Uint8Array, bucketId = ID, recipient: RawKeyPair = worker) {
  try {
    unwrapKey(w, bucketId, recipient);
  } catch (error) {
    expect(error).toBeInstanceOf(DecryptError);
    expect((error as DecryptError).code).toBe("ERR_UNWRAP_FAILED");
    expect((error as DecryptError).message).toBe(DECRYPT_FAILED_MESSAGE);
    return;
  }
  expect.fail("unwrapKey succeeded");
}

describe("wrapKey / unwrapKey", () => {
  it("round-trips, as version ‖ ephemeral ‖ nonce ‖ sealed key of 105 bytes", () => {
    expect(wrapped.length).toBe(WRAPPED_KEY_LENGTH);
    expect(WRAPPED_KEY_LENGTH).toBe(1 + 32 + 24 + 48);
    expect(wrapped[0]).toBe(1);
    expect(unwrapKey(wrapped, ID, worker).equals(bucketKey)).toBe(true);
  });

  it("round-trips any key and bucket id, with a fresh ephemeral key each time (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string(), (key, id) => {
        const a = wrapKey(key, id, worker.publicKey);
        const b = wrapKey(key, id, worker.publicKey);
        expect(a.subarray(1, 33).equals(b.subarray(1, 33))).toBe(false);
        expect(unwrapKey(a, id, worker).equals(Buffer.from(key))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it("fails for another recipient, even one given the intended public key", () => {
    const other = generateKeyPair("X25519");
    expectUnwrapFailure(wrapped, ID, other);
    expectUnwrapFailure(wrapped, ID, { ...other, publicKey: worker.publicKey });
  });

  it("fails for another bucket id", () => {
    expectUnwrapFailure(wrapped, "j/job_1/split/0/1");
    expectUnwrapFailure(wrapped, "");
  });

  it("fails on every flipped byte", () => {
    for (let i = 0; i < wrapped.length; i++) {
      const bad = Buffer.from(wrapped);
      bad[i]! ^= 0x01;
      expectUnwrapFailure(bad);
    }
  });

  it("fails when truncated or extended", () => {
    for (const length of [0, 1, 33, 57, 104]) expectUnwrapFailure(wrapped.subarray(0, length));
    expectUnwrapFailure(Buffer.concat([wrapped, Buffer.of(0)]));
  });

  it("refuses low-order ephemeral keys (an all-zero shared secret)", () => {
    for (const point of [Buffer.alloc(32), Buffer.concat([Buffer.of(1), Buffer.alloc(31)])]) {
      const bad = Buffer.from(wrapped);
      point.copy(bad, 1);
      expectUnwrapFailure(bad);
    }
  });

  it("refuses to wrap to a low-order recipient key", () => {
    expect(() => wrapKey(bucketKey, ID, Buffer.alloc(32))).toThrow(
      "recipientPublicKey: expected an X25519 public key, got a low-order point",
    );
  });

  it("checks its arguments with exact messages", () => {
    expect(() => wrapKey(randomBytes(16), ID, worker.publicKey)).toThrow(
      "bucketKey: expected Uint8Array of length 32, got length=16",
    );
    expect(() => wrapKey(bucketKey, ID, randomBytes(33))).toThrow(
      "recipientPublicKey: expected Uint8Array of length 32, got length=33",
    );
    expect(() => unwrapKey(wrapped, ID, generateKeyPair("Ed25519"))).toThrow(
      "recipient: expected an X25519 key pair, got Ed25519",
    );
    expect(() => unwrapKey(wrapped, ID, generateKeyPair("Ed25519"))).toThrow(CryptoError);
  });
});

describe("string form", () => {
  it("is unpadded base64url and round-trips", () => {
    const text = wrappedKeyToString(wrapped);
    expect(text).toMatch(/^[A-Za-z0-9_-]{140}$/);
    expect(wrappedKeyFromString(text).equals(wrapped)).toBe(true);
    expect(unwrapKey(wrappedKeyFromString(text), ID, worker).equals(bucketKey)).toBe(true);
  });

  it("refuses anything but canonical base64url, as an unwrap failure", () => {
    const text = wrappedKeyToString(wrapped);
    // "AB" has stray low bits (it decodes to what "AA" spells); "A" is no whole byte.
    for (const bad of [`${text}=`, `${text.slice(0, -1)}+`, ` ${text}`, "A", "AB"]) {
      expect(() => wrappedKeyFromString(bad)).toThrow(DECRYPT_FAILED_MESSAGE);
    }
    expect(() => wrappedKeyFromString(42 as unknown as string)).toThrow(
      "wrapped: expected a string, got number",
    );
  });
});

import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CHUNK, cut, ID, layout, run } from "../test/bucket-helpers.ts";
import { chunkNonce, headerLength } from "./_bucket-format.ts";
import {
  DEFAULT_CHUNK_SIZE,
  newBucketKey,
  open,
  openBuffer,
  seal,
  sealBuffer,
  sealedLength,
} from "./bucket-seal.ts";
import { CryptoError } from "./errors.ts";
import { xchachaDecryptReference } from "./xchacha.ts";

describe("round trip", () => {
  it("open(seal(x)) = x through the streams, for any size and any cut of the input", async () => {
    const key = newBucketKey();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.nat({ max: 600 }),
          fc.integer({ min: 0, max: 8 }).map((n) => n * CHUNK),
        ),
        fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 200 }), { maxLength: 5 }),
        async (size, plainCuts, sealedCuts) => {
          const plaintext = randomBytes(size);
          const sealed = await run(seal(key, ID, { chunkSize: CHUNK }), cut(plaintext, plainCuts));
          expect(sealed.error).toBeUndefined();
          expect(sealed.out.length).toBe(sealedLength(size, CHUNK, ID));
          const opened = await run(open(key, ID), cut(sealed.out, sealedCuts));
          expect(opened.error).toBeUndefined();
          expect(opened.out.equals(plaintext)).toBe(true);
          expect(openBuffer(key, ID, sealed.out).equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("open keeps its own copy of the key until the header comes", async () => {
    const key = newBucketKey();
    const plaintext = randomBytes(300);
    const sealed = sealBuffer(key, ID, plaintext, { chunkSize: CHUNK });
    const opener = open(key, ID);
    const result = run(opener, cut(sealed, [5]));
    key.fill(0);
    expect((await result).out.equals(plaintext)).toBe(true);
  });

  it("sealBuffer and the seal stream write the same format", async () => {
    const key = newBucketKey();
    for (const size of [0, 1, 63, 64, 65, 128, 1000]) {
      const plaintext = randomBytes(size);
      const sealed = sealBuffer(key, ID, plaintext, { chunkSize: CHUNK });
      expect(sealed.length).toBe(sealedLength(size, CHUNK, ID));
      const opened = await run(open(key, ID), [sealed]);
      expect(opened.out.equals(plaintext)).toBe(true);
    }
  });

  it("uses 64 KiB chunks by default, and an empty bucket is a header and one empty chunk", () => {
    const key = newBucketKey();
    expect(DEFAULT_CHUNK_SIZE).toBe(65536);
    const sealed = sealBuffer(key, ID, randomBytes(DEFAULT_CHUNK_SIZE));
    expect(sealed.readUInt32BE(5)).toBe(DEFAULT_CHUNK_SIZE);
    expect(sealed.length).toBe(headerLength(ID.length) + DEFAULT_CHUNK_SIZE + 2 * 16);
    expect(sealBuffer(key, "", new Uint8Array()).length).toBe(sealedLength(0));
    expect(sealedLength(0)).toBe(26 + 16);
  });

  it("each chunk is XChaCha20-Poly1305 under its STREAM nonce, with the header as AAD (noble)", () => {
    const key = newBucketKey();
    const plaintext = randomBytes(5 * CHUNK + 10);
    const sealed = sealBuffer(key, ID, plaintext, { chunkSize: CHUNK });
    const { header, chunks } = layout(sealed);
    const prefix = header.subarray(header.length - 15);
    const opened = chunks.map((chunk, i) =>
      xchachaDecryptReference(key, chunkNonce(prefix, i, i === chunks.length - 1), chunk, header),
    );
    expect(Buffer.concat(opened).equals(plaintext)).toBe(true);
  });
});

describe("chunk nonces", () => {
  it("never repeat within a bucket, and differ in the final flag", () => {
    const key = newBucketKey();
    const count = 3000;
    const sealed = sealBuffer(key, ID, randomBytes(count - 1), { chunkSize: 1 });
    const { header, chunks } = layout(sealed, ID, 1);
    expect(chunks.length).toBe(count);
    const prefix = header.subarray(header.length - 15);
    const nonces = chunks.map((_, i) => chunkNonce(prefix, i, i === count - 1).toString("hex"));
    expect(new Set(nonces).size).toBe(count);
    expect(chunkNonce(prefix, 7, true).equals(chunkNonce(prefix, 7, false))).toBe(false);
  });

  it("lay out prefix ‖ u64 BE counter ‖ final flag", () => {
    const prefix = Buffer.alloc(15, 0xaa);
    const nonce = chunkNonce(prefix, 2 ** 40 + 5, true);
    expect(nonce.toString("hex")).toBe(["aa".repeat(15), "0000010000000005", "01"].join(""));
    expect(() => chunkNonce(prefix, -1, false)).toThrow(CryptoError);
    expect(() => chunkNonce(prefix.subarray(1), 0, false)).toThrow(
      "prefix: expected Uint8Array of length 15, got length=14",
    );
  });

  it("come from a fresh random prefix on every seal of the same data", () => {
    const key = newBucketKey();
    const plaintext = randomBytes(100);
    const prefixes = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { header } = layout(sealBuffer(key, ID, plaintext, { chunkSize: CHUNK }));
      prefixes.add(header.subarray(header.length - 15).toString("hex"));
    }
    expect(prefixes.size).toBe(20);
  });
});

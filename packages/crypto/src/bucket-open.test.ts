import { randomBytes } from "node:crypto";
import { once } from "node:events";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHUNK,
  cut,
  expectTampered,
  expectTamperedError,
  ID,
  layout,
  run,
} from "../test/bucket-helpers.ts";
import { newBucketKey, open, openBuffer, seal, sealBuffer } from "./bucket-seal.ts";
import { CryptoError } from "./errors.ts";

const key = newBucketKey();
const plaintext = randomBytes(4 * CHUNK + 20);
const sealed = sealBuffer(key, ID, plaintext, { chunkSize: CHUNK });
const { header, chunks } = layout(sealed);
const join = (...parts: Buffer[]) => Buffer.concat([header, ...parts]);

describe("open rejects", () => {
  it("any single-bit flip anywhere (property)", async () => {
    const small = sealBuffer(key, ID, randomBytes(150), { chunkSize: CHUNK });
    fc.assert(
      fc.property(fc.nat({ max: small.length * 8 - 1 }), (bit) => {
        const bad = Buffer.from(small);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(() => openBuffer(key, ID, bad)).toThrow(CryptoError);
      }),
      { numRuns: 500 },
    );
    const bad = Buffer.from(small);
    bad[bad.length - 1]! ^= 0x80;
    await expectTampered(key, ID, bad);
  });

  it("a flipped byte in each header byte", async () => {
    for (let i = 0; i < header.length; i++) {
      const bad = Buffer.from(sealed);
      bad[i]! ^= 0x01;
      await expectTampered(key, ID, bad);
    }
  });

  it("a flipped byte in each chunk, in its ciphertext and in its tag", async () => {
    for (let c = 0; c < chunks.length; c++) {
      for (const at of [0, chunks[c]!.length - 1]) {
        const bad = Buffer.from(sealed);
        bad[header.length + c * (CHUNK + 16) + at]! ^= 0x40;
        await expectTampered(key, ID, bad);
      }
    }
  });

  it("truncation: no final chunk, cut mid-chunk, only the header, cut in the header, nothing", async () => {
    await expectTampered(key, ID, join(...chunks.slice(0, -1)));
    for (const cutAt of [1, 15, 16, CHUNK, CHUNK + 15, CHUNK + 17]) {
      await expectTampered(key, ID, sealed.subarray(0, header.length + cutAt));
    }
    await expectTampered(key, ID, sealed.subarray(0, sealed.length - 1));
    await expectTampered(key, ID, header);
    await expectTampered(key, ID, header.subarray(0, 10));
    await expectTampered(key, ID, Buffer.alloc(0));
  });

  it("reordered, dropped and repeated chunks", async () => {
    const [c0, c1, c2, c3, last] = chunks as [Buffer, Buffer, Buffer, Buffer, Buffer];
    await expectTampered(key, ID, join(c1, c0, c2, c3, last));
    await expectTampered(key, ID, join(c0, c2, c3, last));
    await expectTampered(key, ID, join(c0, c1, c1, c2, c3, last));
    await expectTampered(key, ID, join(last));
  });

  it("data after the final chunk", async () => {
    const last = chunks.at(-1)!;
    for (const tail of [Buffer.of(0), randomBytes(16), randomBytes(CHUNK + 16), last]) {
      await expectTampered(key, ID, Buffer.concat([sealed, tail]));
    }
  });

  it("a chunk spliced from another bucket under the same key", async () => {
    const other = sealBuffer(key, "j/job_1/m/0/0/p2", plaintext, { chunkSize: CHUNK });
    const sameId = sealBuffer(key, ID, plaintext, { chunkSize: CHUNK });
    for (const donor of [layout(other, "j/job_1/m/0/0/p2").chunks, layout(sameId).chunks]) {
      const spliced = [...chunks];
      spliced[1] = donor[1]!;
      await expectTampered(key, ID, join(...spliced));
    }
    // A whole bucket under the same key, served as another bucket.
    await expectTampered(key, ID, other);
  });

  it("another bucket id, another key", async () => {
    await expectTampered(key, "j/job_1/m/0/0/p10", sealed);
    await expectTampered(key, ID.slice(0, -1), sealed);
    await expectTampered(newBucketKey(), ID, sealed);
  });
});

describe("open emits nothing unverified", () => {
  it("emits exactly the chunks before the tampered one", async () => {
    const bad = Buffer.from(sealed);
    bad[header.length + 2 * (CHUNK + 16) + 5]! ^= 0x01;
    for (const sizes of [[], [1], [CHUNK + 16], [3 * (CHUNK + 16) - 1]]) {
      const { out, error } = await run(open(key, ID), cut(bad, sizes));
      expectTamperedError(error);
      expect(out.equals(plaintext.subarray(0, 2 * CHUNK))).toBe(true);
    }
  });
});

describe("streams stay within a few chunks", () => {
  it("seal piped into open holds a bounded number of bytes for a slow reader", async () => {
    const chunkSize = 4096;
    const total = 4 * 1024 * 1024;
    const sealer = seal(key, ID, { chunkSize });
    const opener = open(key, ID);
    sealer.pipe(opener);
    let peak = 0;
    const sample = () => {
      const held = [sealer, opener].map((s) => s.readableLength + s.writableLength);
      peak = Math.max(peak, held[0]! + held[1]!);
    };
    const received: Buffer[] = [];
    const reading = (async () => {
      for await (const piece of opener) {
        received.push(piece as Buffer);
        sample();
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const input = randomBytes(total);
    for (const piece of cut(input, [10_000])) {
      if (!sealer.write(piece)) await once(sealer, "drain");
      sample();
    }
    sealer.end();
    await reading;
    expect(Buffer.concat(received).equals(input)).toBe(true);
    // Four 16 KiB stream buffers plus a few chunks in flight, not the 4 MiB input.
    expect(peak).toBeLessThan(4 * 16 * 1024 + 8 * chunkSize);
  });
});

describe("argument checks", () => {
  it("name the bad value and what was expected", () => {
    expect(() => seal(new Uint8Array(31), ID)).toThrow(
      "key: expected Uint8Array of length 32, got length=31",
    );
    expect(() => open(key, 7 as unknown as string)).toThrow(
      "bucketId: expected a string, got number",
    );
    expect(() => seal(key, ID, { chunkSize: 0 })).toThrow(
      "chunkSize: expected an integer from 1 to 16777216, got 0",
    );
    expect(() => sealBuffer(key, "\ud800", Buffer.alloc(1))).toThrow(
      "bucketId: expected well-formed Unicode, got a lone surrogate",
    );
    expect(() => sealBuffer(key, "x".repeat(65536), Buffer.alloc(1))).toThrow(
      "bucketId: expected at most 65535 UTF-8 bytes, got 65536",
    );
  });
});

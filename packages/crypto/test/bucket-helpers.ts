// Helpers for the bucket-seal tests: running streams, cutting input, finding chunks, expecting failure.
import { Readable, type Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { expect } from "vitest";
import { headerLength } from "../src/_bucket-format.ts";
import { open, openBuffer } from "../src/bucket-seal.ts";
import { DECRYPT_FAILED_MESSAGE, DecryptError } from "../src/errors.ts";

/** Feeds `pieces` through `transform`, collecting what it emits until it ends or errors. */
export async function run(
  transform: Transform,
  pieces: Buffer[],
): Promise<{ out: Buffer; error?: unknown }> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  try {
    await pipeline(Readable.from(pieces), transform, sink);
    return { out: Buffer.concat(out) };
  } catch (error) {
    return { out: Buffer.concat(out), error };
  }
}

/** `data` cut at the given sizes (cycled), the rest in one last piece. */
export function cut(data: Buffer, sizes: number[]): Buffer[] {
  const pieces: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = Math.max(1, sizes.length > 0 ? sizes[i % sizes.length]! : data.length);
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

export function expectTamperedError(error: unknown) {
  expect(error).toBeInstanceOf(DecryptError);
  expect((error as DecryptError).code).toBe("ERR_BUCKET_TAMPERED");
  expect((error as DecryptError).message).toBe(DECRYPT_FAILED_MESSAGE);
}

/** Both `openBuffer` and the `open` stream (fed in odd pieces) reject `sealed`. */
export async function expectTampered(key: Uint8Array, bucketId: string, sealed: Buffer) {
  let thrown: unknown;
  try {
    openBuffer(key, bucketId, sealed);
  } catch (error) {
    thrown = error;
  }
  expectTamperedError(thrown);
  for (const sizes of [[], [1], [7, 100]]) {
    const { error } = await run(open(key, bucketId), cut(sealed, sizes));
    expectTamperedError(error);
  }
}

export const ID = "j/job_1/m/0/0/p1";
export const CHUNK = 64;
/** The byte ranges of a sealed bucket: its header, then each chunk (ciphertext ‖ tag). */
export function layout(sealed: Buffer, bucketId = ID, chunkSize = CHUNK) {
  const header = headerLength(Buffer.byteLength(bucketId));
  const chunks: Buffer[] = [];
  for (let at = header; at < sealed.length; at += chunkSize + 16) {
    chunks.push(sealed.subarray(at, at + chunkSize + 16));
  }
  return { header: sealed.subarray(0, header), chunks };
}

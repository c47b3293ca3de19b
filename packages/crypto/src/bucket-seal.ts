// Sealing a bucket: a stream cut into chunks, each XChaCha20-Poly1305 sealed in the STREAM construction.
/**
 * Format (all integers big-endian):
 *
 *     header   = "TMRB" ‖ version (u8, 1) ‖ chunk size C (u32) ‖ id length (u16) ‖ bucket id (UTF-8)
 *                ‖ nonce prefix (15 random bytes)
 *     chunk i  = XChaCha20-Poly1305(key, nonce_i, plaintext_i, aad = header): ciphertext ‖ tag (16)
 *     nonce_i  = prefix (15) ‖ i (u64) ‖ final flag (u8: 1 on the last chunk, else 0)
 *     sealed   = header ‖ chunk 0 ‖ … ‖ chunk n
 *
 * Every chunk holds exactly C bytes of plaintext except the last, which holds 0 to C − 1 bytes and
 * is always there (empty for an empty input or a multiple of C). So a reader knows each chunk's
 * end without lookahead: a whole C + 16 bytes is a middle chunk, what is left at the end of the
 * stream is the final one.
 *
 * This is STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and its
 * Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7), like libsodium's secretstream: the counter in
 * the nonce catches reordered or dropped chunks, the final flag catches truncation at a chunk
 * boundary and data after the end, and the header as AAD of every chunk (with the random prefix
 * in every nonce) catches chunks spliced from another bucket and any change to the header. XChaCha
 * nonces are built per draft-irtf-cfrg-xchacha-03 §2.3.
 *
 * `open` emits a chunk's plaintext only after that chunk's tag verified, but earlier chunks may
 * have been emitted before a later one fails: consumers must discard all output when it errors.
 */
import { randomBytes } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { ChunkOpener, ChunkSealer, Records } from "./_bucket-chunks.ts";
import {
  checkChunkSize,
  encodeBucketId,
  encodeHeader,
  headerLength,
  parseHeader,
  TAG_LENGTH,
} from "./_bucket-format.ts";
import { CryptoError, DecryptError } from "./errors.ts";
import { checkKeyBytes } from "./keys.ts";
import { checkBytes, KEY_LENGTH } from "./xchacha.ts";

export const DEFAULT_CHUNK_SIZE = 64 * 1024;

/** A fresh random 32-byte bucket key. */
export function newBucketKey(): Buffer {
  return randomBytes(KEY_LENGTH);
}

export interface SealOptions {
  /** Plaintext bytes per chunk, 1 to 16 MiB; {@link DEFAULT_CHUNK_SIZE} if not given. */
  chunkSize?: number;
}

function newSealer(
  key: Uint8Array,
  bucketId: string,
  options?: SealOptions,
): { sealer: ChunkSealer; chunkSize: number } {
  checkKeyBytes("key", key, KEY_LENGTH);
  const chunkSize = checkChunkSize(options?.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const prefix = ChunkSealer.randomPrefix();
  const header = encodeHeader(chunkSize, encodeBucketId(bucketId), prefix);
  return { sealer: new ChunkSealer(key, header, prefix), chunkSize };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A Transform from plaintext to the sealed bucket. It holds at most one chunk of plaintext. */
export function seal(key: Uint8Array, bucketId: string, options?: SealOptions): Transform {
  const { sealer, chunkSize } = newSealer(key, bucketId, options);
  const records = new Records(chunkSize);
  let headerSent = false;
  const sendHeader = (stream: Transform) => {
    if (headerSent) return;
    headerSent = true;
    stream.push(sealer.header);
  };
  return new Transform({
    transform(piece: Buffer, _encoding, callback: TransformCallback) {
      try {
        sendHeader(this);
        records.feed(piece, (plaintext) => {
          const { ciphertext, tag } = sealer.seal(plaintext, false);
          this.push(ciphertext);
          this.push(tag);
        });
        callback();
      } catch (error) {
        callback(asError(error));
      }
    },
    flush(callback: TransformCallback) {
      try {
        sendHeader(this);
        const { ciphertext, tag } = sealer.seal(records.rest(), true);
        records.wipe();
        this.push(ciphertext);
        this.push(tag);
        callback();
      } catch (error) {
        callback(asError(error));
      }
    },
  });
}

/**
 * A Transform from a sealed bucket to its plaintext. It holds at most one sealed chunk.
 *
 * The stream errors with DecryptError `ERR_BUCKET_TAMPERED` (the generic message) on any change,
 * truncation, reordering, splicing, trailing data, another bucket id or another key. Chunks
 * before the failing one may already have been emitted: discard all output on error.
 */
export function open(key: Uint8Array, bucketId: string): Transform {
  checkKeyBytes("key", key, KEY_LENGTH);
  const id = encodeBucketId(bucketId);
  // The subkey needs the header's prefix; until it comes, keep a copy the caller cannot change.
  const keyCopy = Buffer.from(key);
  const header = Buffer.alloc(headerLength(id.length));
  let headerFill = 0;
  /** Set once the whole header is in and checked. */
  let body: { opener: ChunkOpener; records: Records } | undefined;
  return new Transform({
    transform(piece: Buffer, _encoding, callback: TransformCallback) {
      try {
        if (body === undefined) {
          const taken = piece.copy(header, headerFill);
          headerFill += taken;
          if (headerFill < header.length) return callback();
          const { chunkSize, prefix } = parseHeader(header, id);
          body = {
            opener: new ChunkOpener(keyCopy, header, prefix),
            records: new Records(chunkSize + TAG_LENGTH),
          };
          keyCopy.fill(0);
          piece = piece.subarray(taken);
        }
        const { opener } = body;
        body.records.feed(piece, (record) => this.push(opener.open(record, false)));
        callback();
      } catch (error) {
        callback(asError(error));
      }
    },
    flush(callback: TransformCallback) {
      try {
        if (body === undefined) {
          throw new DecryptError("ERR_BUCKET_TAMPERED", `ends in the header, at ${headerFill}`);
        }
        const rest = body.records.rest();
        if (rest.length === 0) throw new DecryptError("ERR_BUCKET_TAMPERED", "no final chunk");
        this.push(body.opener.open(rest, true));
        callback();
      } catch (error) {
        callback(asError(error));
      }
    },
  });
}

/** The exact length of a sealed bucket; `bucketId` counts as "" if not given. */
export function sealedLength(
  plainLength: number,
  chunkSize = DEFAULT_CHUNK_SIZE,
  bucketId = "",
): number {
  if (!Number.isSafeInteger(plainLength) || plainLength < 0) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `plainLength: expected a non-negative integer, got ${String(plainLength)}`,
    );
  }
  checkChunkSize(chunkSize);
  const chunks = Math.floor(plainLength / chunkSize) + 1;
  return headerLength(encodeBucketId(bucketId).length) + plainLength + chunks * TAG_LENGTH;
}

/** {@link seal} for data already in memory. */
export function sealBuffer(
  key: Uint8Array,
  bucketId: string,
  plaintext: Uint8Array,
  options?: SealOptions,
): Buffer {
  const { sealer, chunkSize } = newSealer(key, bucketId, options);
  checkBytes("plaintext", plaintext);
  const out = Buffer.alloc(sealedLength(plaintext.length, chunkSize, bucketId));
  let at = sealer.header.copy(out, 0);
  let offset = 0;
  for (;;) {
    const final = plaintext.length - offset < chunkSize;
    const end = final ? plaintext.length : offset + chunkSize;
    const { ciphertext, tag } = sealer.seal(plaintext.subarray(offset, end), final);
    at += ciphertext.copy(out, at);
    at += tag.copy(out, at);
    offset = end;
    if (final) return out;
  }
}

/**
 * {@link open} for data already in memory.
 *
 * @throws DecryptError `ERR_BUCKET_TAMPERED` in the cases {@link open} errors on.
 */
export function openBuffer(key: Uint8Array, bucketId: string, sealed: Uint8Array): Buffer {
  checkKeyBytes("key", key, KEY_LENGTH);
  checkBytes("sealed", sealed);
  const id = encodeBucketId(bucketId);
  const length = headerLength(id.length);
  if (sealed.length < length) {
    throw new DecryptError("ERR_BUCKET_TAMPERED", `ends in the header, at ${sealed.length}`);
  }
  const header = Buffer.from(sealed.subarray(0, length));
  const { chunkSize, prefix } = parseHeader(header, id);
  const opener = new ChunkOpener(key, header, prefix);
  const record = chunkSize + TAG_LENGTH;
  const parts: Buffer[] = [];
  let offset = length;
  while (sealed.length - offset >= record) {
    parts.push(opener.open(sealed.subarray(offset, offset + record), false));
    offset += record;
  }
  if (offset === sealed.length) throw new DecryptError("ERR_BUCKET_TAMPERED", "no final chunk");
  parts.push(opener.open(sealed.subarray(offset), true));
  return Buffer.concat(parts);
}

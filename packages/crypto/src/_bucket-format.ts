// The byte layout of a sealed bucket: header, chunk nonces and sizes (see bucket-seal.ts for the whole format).
import { CryptoError, DecryptError } from "./errors.ts";
import { checkKeyBytes } from "./keys.ts";

/** "TMRB": TorMR bucket. */
export const MAGIC = Buffer.from("TMRB", "latin1");
export const FORMAT_VERSION = 1;
export const PREFIX_LENGTH = 15;
export const TAG_LENGTH = 16;
/** The largest chunk a bucket may declare: it bounds what `open` buffers for a hostile header. */
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;
/** The id length is a u16 in the header. */
export const MAX_BUCKET_ID_BYTES = 0xffff;
/** magic(4) ‖ version(1) ‖ chunk size(4) ‖ id length(2) ‖ id ‖ prefix(15) */
const FIXED_HEADER_LENGTH = 4 + 1 + 4 + 2 + PREFIX_LENGTH;

/**
 * The UTF-8 bytes of a bucket id. Lone surrogates are refused: UTF-8 would turn each into U+FFFD,
 * and two different ids must never bind the same bytes.
 */
export function encodeBucketId(bucketId: string): Buffer {
  if (typeof bucketId !== "string") {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `bucketId: expected a string, got ${bucketId === null ? "null" : typeof bucketId}`,
    );
  }
  const bytes = Buffer.from(bucketId, "utf8");
  if (bytes.toString("utf8") !== bucketId) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      "bucketId: expected well-formed Unicode, got a lone surrogate",
    );
  }
  if (bytes.length > MAX_BUCKET_ID_BYTES) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `bucketId: expected at most ${MAX_BUCKET_ID_BYTES} UTF-8 bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

export function checkChunkSize(chunkSize: number): number {
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `chunkSize: expected an integer from 1 to ${MAX_CHUNK_SIZE}, got ${String(chunkSize)}`,
    );
  }
  return chunkSize;
}

export function headerLength(idBytes: number): number {
  return FIXED_HEADER_LENGTH + idBytes;
}

export function encodeHeader(chunkSize: number, id: Buffer, prefix: Uint8Array): Buffer {
  const header = Buffer.alloc(headerLength(id.length));
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 4);
  header.writeUInt32BE(chunkSize, 5);
  header.writeUInt16BE(id.length, 9);
  id.copy(header, 11);
  header.set(prefix, 11 + id.length);
  return header;
}

export interface Header {
  chunkSize: number;
  prefix: Buffer;
}

/**
 * Reads a header of exactly `headerLength(id.length)` bytes, checking it is one for bucket `id`.
 *
 * @throws DecryptError `ERR_BUCKET_TAMPERED` if it is not.
 */
export function parseHeader(header: Buffer, id: Buffer): Header {
  const fail = (detail: string) => new DecryptError("ERR_BUCKET_TAMPERED", `header: ${detail}`);
  if (header.length !== headerLength(id.length)) throw fail(`${header.length} bytes`);
  if (!header.subarray(0, 4).equals(MAGIC)) throw fail("bad magic");
  if (header[4] !== FORMAT_VERSION) throw fail(`version ${header[4]}`);
  const chunkSize = header.readUInt32BE(5);
  if (chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) throw fail(`chunk size ${chunkSize}`);
  // The tags bind the header too, but only a check against the expected id stops a whole
  // bucket sealed under the same key from being served as another one.
  const idLength = header.readUInt16BE(9);
  if (idLength !== id.length || !header.subarray(11, 11 + idLength).equals(id)) {
    throw fail("another bucket id");
  }
  return { chunkSize, prefix: Buffer.from(header.subarray(11 + idLength)) };
}

/**
 * Writes chunk `index`'s 24-byte XChaCha nonce into `out`: prefix(15) ‖ index (u64 BE) ‖ final
 * flag (1 on the bucket's last chunk, else 0). The STREAM construction of Hoang, Reyhanitabar,
 * Rogaway and Vizár (CRYPTO 2015, §7): the counter fixes each chunk's place, the flag its end.
 */
export function writeChunkNonce(
  out: Buffer,
  prefix: Uint8Array,
  index: number,
  final: boolean,
): Buffer {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `index: expected a non-negative safe integer, got ${String(index)}`,
    );
  }
  out.set(prefix.subarray(0, PREFIX_LENGTH), 0);
  // Two u32 halves rather than a BigInt: no allocation per chunk.
  out.writeUInt32BE(Math.floor(index / 2 ** 32), 15);
  out.writeUInt32BE(index >>> 0, 19);
  out.writeUInt8(final ? 1 : 0, 23);
  return out;
}

/** Chunk `index`'s nonce in a fresh buffer (see {@link writeChunkNonce}). */
export function chunkNonce(prefix: Uint8Array, index: number, final: boolean): Buffer {
  checkKeyBytes("prefix", prefix, PREFIX_LENGTH);
  return writeChunkNonce(Buffer.alloc(24), prefix, index, final);
}

// Sealing and opening one bucket's chunks in order, and cutting a byte stream into fixed-size records.
import { randomBytes } from "node:crypto";
import { PREFIX_LENGTH, writeChunkNonce } from "./_bucket-format.ts";
import { ietfOpen, ietfSeal, type Sealed } from "./_chacha20-poly1305.ts";
import { CryptoError, DecryptError } from "./errors.ts";
import { hchacha20, ietfIvOf } from "./xchacha.ts";

/**
 * The HChaCha20 subkey of every chunk of a bucket. A chunk nonce's first 16 bytes are the prefix
 * and the counter's top byte, which stays 0 below 2^56 chunks (indexes stop at 2^53), so all chunks
 * share them: deriving the subkey once gives the same ciphertext as draft-irtf-cfrg-xchacha-03 §2.3
 * per chunk, without an HChaCha20 call per chunk.
 */
function bucketSubkey(key: Uint8Array, prefix: Uint8Array): Buffer {
  const first16 = Buffer.alloc(16);
  first16.set(prefix.subarray(0, PREFIX_LENGTH));
  return hchacha20(key, first16);
}

/** Seals a bucket's chunks in order; each chunk is XChaCha20-Poly1305 with the header as AAD. */
export class ChunkSealer {
  readonly prefix: Buffer;
  private readonly subkey: Buffer;
  private readonly nonce = Buffer.alloc(24);
  private readonly iv = Buffer.alloc(12);
  private index = 0;
  private finished = false;

  constructor(
    key: Uint8Array,
    /** Built with this sealer's prefix; bound to every chunk. */
    readonly header: Buffer,
    prefix: Buffer,
  ) {
    this.prefix = prefix;
    this.subkey = bucketSubkey(key, prefix);
  }

  static randomPrefix(): Buffer {
    return randomBytes(PREFIX_LENGTH);
  }

  seal(plaintext: Uint8Array, final: boolean): Sealed {
    if (this.finished) {
      throw new CryptoError("ERR_CRYPTO_ARGUMENT", "seal: the final chunk was already sealed");
    }
    writeChunkNonce(this.nonce, this.prefix, this.index, final);
    const sealed = ietfSeal(this.subkey, ietfIvOf(this.nonce, this.iv), plaintext, this.header);
    this.index++;
    if (final) {
      this.finished = true;
      this.subkey.fill(0);
    }
    return sealed;
  }
}

/** Opens a bucket's sealed chunks (ciphertext ‖ tag) in order. */
export class ChunkOpener {
  private readonly subkey: Buffer;
  private readonly nonce = Buffer.alloc(24);
  private readonly iv = Buffer.alloc(12);
  private index = 0;

  constructor(
    key: Uint8Array,
    private readonly header: Buffer,
    private readonly prefix: Buffer,
  ) {
    this.subkey = bucketSubkey(key, prefix);
  }

  /**
   * The chunk's plaintext, only once its tag verified.
   *
   * @throws DecryptError `ERR_BUCKET_TAMPERED` if it does not.
   */
  open(record: Uint8Array, final: boolean): Buffer {
    const where = `chunk ${this.index}${final ? " (final)" : ""}`;
    if (record.length < 16) {
      this.subkey.fill(0);
      throw new DecryptError("ERR_BUCKET_TAMPERED", `${where}: ${record.length} bytes, no tag`);
    }
    writeChunkNonce(this.nonce, this.prefix, this.index, final);
    const split = record.length - 16;
    const plaintext = ietfOpen(
      this.subkey,
      ietfIvOf(this.nonce, this.iv),
      record.subarray(0, split),
      record.subarray(split),
      this.header,
    );
    if (plaintext === undefined || final) this.subkey.fill(0);
    if (plaintext === undefined) {
      throw new DecryptError("ERR_BUCKET_TAMPERED", `${where}: tag mismatch`);
    }
    this.index++;
    return plaintext;
  }
}

/**
 * Cuts a stream of byte pieces into records of `size` bytes, with one buffer of that size: a piece
 * that spans whole records is handed out in place, without a copy.
 */
export class Records {
  private readonly buffer: Buffer;
  private fill = 0;

  constructor(readonly size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }

  /** Calls `each` on every whole record so far. `each` must not keep the record it is given. */
  feed(piece: Buffer, each: (record: Buffer) => void): void {
    let offset = 0;
    if (this.fill > 0) {
      offset = Math.min(this.size - this.fill, piece.length);
      piece.copy(this.buffer, this.fill, 0, offset);
      this.fill += offset;
      if (this.fill < this.size) return;
      this.fill = 0;
      each(this.buffer);
    }
    while (piece.length - offset >= this.size) {
      each(piece.subarray(offset, offset + this.size));
      offset += this.size;
    }
    this.fill = piece.copy(this.buffer, 0, offset);
  }

  /** The bytes after the last whole record (fewer than `size`). */
  rest(): Buffer {
    return this.buffer.subarray(0, this.fill);
  }

  /** Overwrites the buffer, which may hold plaintext. */
  wipe(): void {
    this.buffer.fill(0);
    this.fill = 0;
  }
}

// ChaCha20-Poly1305 with a 96-bit nonce (RFC 8439 §2.8) through OpenSSL: the fast core under XChaCha.
import { createCipheriv, createDecipheriv } from "node:crypto";

const ALGORITHM = "chacha20-poly1305";
const TAG_LENGTH = 16;

export interface Sealed {
  ciphertext: Buffer;
  tag: Buffer;
}

/**
 * RFC 8439 §2.8 AEAD encryption. The ciphertext and tag come back apart so that a stream can push
 * both without copying them into one buffer. `key` (32 bytes) and `iv` (12 bytes) are not checked
 * here: callers check them once, and OpenSSL copies both, so callers may reuse their buffers.
 */
export function ietfSeal(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
): Sealed {
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_LENGTH });
  if (aad !== undefined && aad.length > 0)
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
  const ciphertext = cipher.update(plaintext);
  // final() emits nothing for a stream cipher; it computes the tag.
  cipher.final();
  return { ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Bytes per `update` in {@link ietfSealJoined}: small enough that each piece of ciphertext is still
 * in cache when it is copied out. One `update` of a whole 64 KiB message then a concat runs at
 * about two thirds of the speed (measured on Node 20, OpenSSL 3.0).
 */
const SLICE = 16 * 1024;

/** {@link ietfSeal} as one buffer, ciphertext ‖ tag. */
export function ietfSealJoined(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array | undefined,
): Buffer {
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_LENGTH });
  if (aad !== undefined && aad.length > 0) {
    cipher.setAAD(aad, { plaintextLength: plaintext.length });
  }
  const out = Buffer.alloc(plaintext.length + TAG_LENGTH);
  for (let offset = 0; offset < plaintext.length; offset += SLICE) {
    cipher.update(plaintext.subarray(offset, offset + SLICE)).copy(out, offset);
  }
  cipher.final();
  cipher.getAuthTag().copy(out, plaintext.length);
  return out;
}

/**
 * RFC 8439 §2.8 AEAD decryption: the plaintext, or undefined if the tag does not verify. The
 * plaintext is only returned after the tag verified, so none of an unauthentic input ever escapes.
 */
export function ietfOpen(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array | undefined,
): Buffer | undefined {
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(tag);
  if (aad !== undefined && aad.length > 0)
    decipher.setAAD(aad, { plaintextLength: ciphertext.length });
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    plaintext.fill(0);
    return undefined;
  }
  return plaintext;
}

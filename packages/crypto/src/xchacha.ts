// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03): HChaCha20 from noble, the AEAD from OpenSSL.
import { hchacha, xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { ietfOpen, ietfSealJoined } from "./_chacha20-poly1305.ts";
import { CryptoError, DecryptError } from "./errors.ts";
import { checkKeyBytes } from "./keys.ts";

export const KEY_LENGTH = 32;
export const NONCE_LENGTH = 24;
export const TAG_LENGTH = 16;

/**
 * The ChaCha20 constants "expand 32-byte k" (RFC 8439 §2.3) as four little-endian words, in the
 * byte-view form noble's `hchacha` takes (it swaps words itself on big-endian hosts).
 */
const SIGMA = new Uint32Array(Uint8Array.from(Buffer.from("expand 32-byte k", "latin1")).buffer);

/** Throws the exact argument error if `value` is not a Uint8Array. */
export function checkBytes(name: string, value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `${name}: expected Uint8Array, got ${value === null ? "null" : typeof value}`,
    );
  }
}

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2): a 32-byte subkey from a 32-byte key and the first
 * 16 bytes of an XChaCha nonce. Exposed for the §2.2.1 test vector and for callers that derive one
 * subkey for many nonces sharing their first 16 bytes.
 */
export function hchacha20(key: Uint8Array, input: Uint8Array): Buffer {
  checkKeyBytes("key", key, KEY_LENGTH);
  checkKeyBytes("hchacha20 input", input, 16);
  // Aligned copies, so that the Uint32Array views below are allowed whatever the callers' offsets.
  const k = Uint8Array.from(key);
  const n = Uint8Array.from(input);
  const out = new Uint8Array(32);
  hchacha(SIGMA, new Uint32Array(k.buffer), new Uint32Array(n.buffer), new Uint32Array(out.buffer));
  k.fill(0);
  return Buffer.from(out.buffer);
}

/**
 * The 96-bit ChaCha20-Poly1305 nonce XChaCha uses after HChaCha20 (draft §2.3): four zero bytes,
 * then the last 8 bytes of the 24-byte nonce. Written into `out` (12 bytes) so streams can reuse it.
 */
export function ietfIvOf(nonce: Uint8Array, out: Buffer = Buffer.alloc(12)): Buffer {
  out.writeUInt32LE(0, 0);
  out.set(nonce.subarray(16, 24), 4);
  return out;
}

function checkArguments(
  key: Uint8Array,
  nonce: Uint8Array,
  dataName: "plaintext" | "sealed",
  data: Uint8Array,
  aad?: Uint8Array,
): void {
  checkKeyBytes("key", key, KEY_LENGTH);
  checkKeyBytes("nonce", nonce, NONCE_LENGTH);
  checkBytes(dataName, data);
  if (aad !== undefined) checkBytes("aad", aad);
}

/**
 * XChaCha20-Poly1305 encryption (draft §2.3): ciphertext ‖ 16-byte tag. The nonce may be random:
 * at 192 bits, random nonces do not collide.
 */
export function xchachaEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  checkArguments(key, nonce, "plaintext", plaintext, aad);
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  const sealed = ietfSealJoined(subkey, ietfIvOf(nonce), plaintext, aad);
  subkey.fill(0);
  return sealed;
}

/** The checks both decryptions share: argument shapes, then a tag to verify at all. */
function checkSealedArguments(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array | undefined,
): void {
  checkArguments(key, nonce, "sealed", sealed, aad);
  if (sealed.length < TAG_LENGTH) {
    throw new DecryptError(
      "ERR_BUCKET_TAMPERED",
      `sealed data of ${sealed.length} bytes has no tag`,
    );
  }
}

/**
 * XChaCha20-Poly1305 decryption (draft §2.3) of ciphertext ‖ tag.
 *
 * @throws DecryptError `ERR_BUCKET_TAMPERED` with the generic message if the tag does not verify.
 */
export function xchachaDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  checkSealedArguments(key, nonce, sealed, aad);
  const split = sealed.length - TAG_LENGTH;
  const subkey = hchacha20(key, nonce.subarray(0, 16));
  const plaintext = ietfOpen(
    subkey,
    ietfIvOf(nonce),
    sealed.subarray(0, split),
    sealed.subarray(split),
    aad,
  );
  subkey.fill(0);
  if (plaintext === undefined) {
    throw new DecryptError("ERR_BUCKET_TAMPERED", "xchacha20-poly1305 tag mismatch");
  }
  return plaintext;
}

/** {@link xchachaEncrypt} by @noble/ciphers in pure JS: the reference for cross-tests and benches. */
export function xchachaEncryptReference(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  checkArguments(key, nonce, "plaintext", plaintext, aad);
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length);
}

/** {@link xchachaDecrypt} by @noble/ciphers in pure JS, with the same errors. */
export function xchachaDecryptReference(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad?: Uint8Array,
): Buffer {
  checkSealedArguments(key, nonce, sealed, aad);
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(key, nonce, aad).decrypt(sealed);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DecryptError("ERR_BUCKET_TAMPERED", `noble xchacha20poly1305: ${reason}`);
  }
  return Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length);
}

// Wrapping a bucket key to a worker's X25519 public key (ECIES: ephemeral X25519, HKDF, XChaCha20-Poly1305).
/**
 * Format: version (1) ‖ ephemeral X25519 public key (32) ‖ nonce (24) ‖ sealed bucket key (32 + 16).
 *
 *     shared = X25519(ephemeral private, recipient public)                   RFC 7748 §5
 *     kek    = HKDF-SHA256(ikm = shared, salt = ephemeral public ‖ recipient public,
 *                          info = "tormr key-wrap v1", L = 32)                RFC 5869 §2
 *     sealed = XChaCha20-Poly1305(kek, nonce, bucket key,
 *                                 aad = bucket id (UTF-8) ‖ recipient public) draft-irtf-cfrg-xchacha-03 §2.3
 *
 * Why: both public keys in the salt bind the key to this exchange (as HPKE's DHKEM does with
 * enc ‖ pkR, RFC 9180 §4.1), so a wrapped key cannot be re-aimed at another recipient; `info`
 * names the format version, so a future format derives unrelated keys; the bucket id in the AAD
 * stops a wrapped key for one bucket being presented as the key of another. The recipient key
 * ends the AAD at a fixed 32 bytes, so the id needs no length prefix. A fresh ephemeral key per
 * wrap already makes the kek unique, so the random nonce is belt and braces. An all-zero shared
 * secret (a low-order point, RFC 7748 §6.1) is refused on both sides.
 */
import {
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { encodeBucketId } from "./_bucket-format.ts";
import { CryptoError, DecryptError } from "./errors.ts";
import { checkKeyBytes, privateKeyObject, publicKeyObject, type RawKeyPair } from "./keys.ts";
import {
  checkBytes,
  KEY_LENGTH,
  NONCE_LENGTH,
  TAG_LENGTH,
  xchachaDecrypt,
  xchachaEncrypt,
} from "./xchacha.ts";

export const WRAP_VERSION = 1;
export const WRAPPED_KEY_LENGTH = 1 + 32 + NONCE_LENGTH + KEY_LENGTH + TAG_LENGTH;
const INFO = Buffer.from("tormr key-wrap v1", "utf8");

/** X25519, or undefined if the result is all zero (a low-order point) or OpenSSL refuses it. */
function sharedSecret(privateKey: KeyObject, publicKey: Uint8Array): Buffer | undefined {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey, publicKey: publicKeyObject("X25519", publicKey) });
  } catch {
    return undefined;
  }
  return shared.every((byte) => byte === 0) ? undefined : shared;
}

function keyEncryptionKey(shared: Buffer, ephemeral: Uint8Array, recipient: Uint8Array): Buffer {
  const salt = Buffer.concat([ephemeral, recipient]);
  const kek = Buffer.from(hkdfSync("sha256", shared, salt, INFO, KEY_LENGTH));
  shared.fill(0);
  return kek;
}

function aadOf(id: Buffer, recipient: Uint8Array): Buffer {
  return Buffer.concat([id, recipient]);
}

/** Seals `bucketKey` (32 bytes) so that only the holder of `recipientPublicKey`'s private key opens it. */
export function wrapKey(
  bucketKey: Uint8Array,
  bucketId: string,
  recipientPublicKey: Uint8Array,
): Buffer {
  checkKeyBytes("bucketKey", bucketKey, KEY_LENGTH);
  checkKeyBytes("recipientPublicKey", recipientPublicKey, 32);
  const id = encodeBucketId(bucketId);
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralPublic = Buffer.from(
    ephemeral.publicKey.export({ format: "jwk" }).x as string,
    "base64url",
  );
  const shared = sharedSecret(ephemeral.privateKey, recipientPublicKey);
  if (shared === undefined) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      "recipientPublicKey: expected an X25519 public key, got a low-order point",
    );
  }
  const kek = keyEncryptionKey(shared, ephemeralPublic, recipientPublicKey);
  const nonce = randomBytes(NONCE_LENGTH);
  const sealed = xchachaEncrypt(kek, nonce, bucketKey, aadOf(id, recipientPublicKey));
  kek.fill(0);
  return Buffer.concat([Buffer.of(WRAP_VERSION), ephemeralPublic, nonce, sealed]);
}

/**
 * The bucket key in `wrapped`, for the X25519 key pair it was wrapped to.
 *
 * @throws DecryptError `ERR_UNWRAP_FAILED` with the generic message for a wrong recipient or
 *   bucket id, any change, or a wrong length or version.
 */
export function unwrapKey(wrapped: Uint8Array, bucketId: string, recipient: RawKeyPair): Buffer {
  checkBytes("wrapped", wrapped);
  if (recipient?.curve !== "X25519") {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `recipient: expected an X25519 key pair, got ${String(recipient?.curve)}`,
    );
  }
  const privateKey = privateKeyObject(recipient);
  const id = encodeBucketId(bucketId);
  const fail = (detail: string) => new DecryptError("ERR_UNWRAP_FAILED", detail);
  if (wrapped.length !== WRAPPED_KEY_LENGTH) throw fail(`${wrapped.length} bytes`);
  if (wrapped[0] !== WRAP_VERSION) throw fail(`version ${wrapped[0]}`);
  const ephemeralPublic = wrapped.subarray(1, 33);
  const nonce = wrapped.subarray(33, 33 + NONCE_LENGTH);
  const sealed = wrapped.subarray(33 + NONCE_LENGTH);
  const shared = sharedSecret(privateKey, ephemeralPublic);
  if (shared === undefined) throw fail("low-order ephemeral key");
  const kek = keyEncryptionKey(shared, ephemeralPublic, recipient.publicKey);
  try {
    return xchachaDecrypt(kek, nonce, sealed, aadOf(id, recipient.publicKey));
  } catch (error) {
    if (error instanceof DecryptError) throw fail(`bucket key: ${error.detail}`);
    throw error;
  } finally {
    kek.fill(0);
  }
}

/** A wrapped key as base64url (RFC 4648 §5, no padding), for JSON. */
export function wrappedKeyToString(b: Uint8Array): string {
  checkBytes("wrapped", b);
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("base64url");
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The bytes of {@link wrappedKeyToString}'s output. Anything else from a peer is a key that will
 * not unwrap, so it fails the same way as {@link unwrapKey}.
 *
 * @throws DecryptError `ERR_UNWRAP_FAILED` unless `s` is canonical unpadded base64url.
 */
export function wrappedKeyFromString(s: string): Buffer {
  if (typeof s !== "string") {
    throw new CryptoError("ERR_CRYPTO_ARGUMENT", `wrapped: expected a string, got ${typeof s}`);
  }
  const bytes = Buffer.from(s, "base64url");
  // Buffer skips characters outside the alphabet and ignores stray trailing bits: re-encoding
  // catches both, so that each wrapped key has one spelling.
  if (!BASE64URL.test(s) || bytes.toString("base64url") !== s) {
    throw new DecryptError("ERR_UNWRAP_FAILED", `not canonical base64url (${s.length} characters)`);
  }
  return bytes;
}

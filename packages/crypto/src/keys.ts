// Key pairs as raw 32-byte arrays: Ed25519 for signing (identity, grants), X25519 for key wrapping.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  verify,
} from "node:crypto";
import { CryptoError } from "./errors.ts";

export type Curve = "Ed25519" | "X25519";

export interface RawKeyPair {
  curve: Curve;
  /** The raw 32-byte public key (RFC 8037 `x`). */
  publicKey: Buffer;
  /** The raw 32-byte private key (RFC 8037 `d`: the seed for Ed25519, the scalar for X25519). */
  privateKey: Buffer;
}

export function generateKeyPair(curve: Curve): RawKeyPair {
  const { privateKey } =
    curve === "Ed25519" ? generateKeyPairSync("ed25519") : generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  return {
    curve,
    publicKey: Buffer.from(jwk.x as string, "base64url"),
    privateKey: Buffer.from(jwk.d as string, "base64url"),
  };
}

export function checkKeyBytes(name: string, key: Uint8Array, length = 32): void {
  if (!(key instanceof Uint8Array) || key.length !== length) {
    const got = key instanceof Uint8Array ? `length=${key.length}` : typeof key;
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `${name}: expected Uint8Array of length ${length}, got ${got}`,
    );
  }
}

/** The node:crypto private KeyObject of a raw pair (RFC 8037 OKP JWK import). */
export function privateKeyObject(pair: RawKeyPair): KeyObject {
  checkKeyBytes(`${pair.curve} private key`, pair.privateKey);
  checkKeyBytes(`${pair.curve} public key`, pair.publicKey);
  return createPrivateKey({
    format: "jwk",
    key: {
      kty: "OKP",
      crv: pair.curve,
      x: Buffer.from(pair.publicKey).toString("base64url"),
      d: Buffer.from(pair.privateKey).toString("base64url"),
    },
  });
}

/** The node:crypto public KeyObject of a raw public key. */
export function publicKeyObject(curve: Curve, publicKey: Uint8Array): KeyObject {
  checkKeyBytes(`${curve} public key`, publicKey);
  return createPublicKey({
    format: "jwk",
    key: { kty: "OKP", crv: curve, x: Buffer.from(publicKey).toString("base64url") },
  });
}

/**
 * A worker's pseudonym: the RFC 7638 JWK thumbprint (SHA-256, base64url) of its Ed25519 public key.
 * RFC 7638 §3.2: the members `crv`, `kty`, `x` in lexicographic order, with no whitespace.
 */
export function pseudonymOf(ed25519PublicKey: Uint8Array): string {
  checkKeyBytes("Ed25519 public key", ed25519PublicKey);
  const x = Buffer.from(ed25519PublicKey).toString("base64url");
  const canonical = `{"crv":"Ed25519","kty":"OKP","x":"${x}"}`;
  return createHash("sha256").update(canonical).digest("base64url");
}

/**
 * Whether `signature` (base64url) is an Ed25519 signature of `message` by `publicKey` (base64url,
 * RFC 8037 `x`). A malformed key or signature is simply not valid: callers say one thing for all.
 */
export function verifyEd25519(publicKey: string, message: Uint8Array, signature: string): boolean {
  try {
    const key = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: publicKey },
      format: "jwk",
    });
    return verify(null, message, key, Buffer.from(signature, "base64url"));
  } catch {
    return false;
  }
}

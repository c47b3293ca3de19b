// A worker's identity on one board: keys derived from its own for that board alone, so no two boards can link it.
import { createPrivateKey, createPublicKey, hkdfSync } from "node:crypto";
import { CryptoError } from "./errors.ts";
import { type Curve, checkKeyBytes, pseudonymOf, type RawKeyPair } from "./keys.ts";

/** RFC 8410 §7: PKCS #8 of an Ed25519 seed or an X25519 scalar is a fixed prefix and the 32 bytes. */
const PKCS8_PREFIX: Record<Curve, Buffer> = {
  Ed25519: Buffer.from("302e020100300506032b657004220420", "hex"),
  X25519: Buffer.from("302e020100300506032b656e04220420", "hex"),
};

/** The pair whose private key is `secret` (an Ed25519 seed, or an X25519 scalar, clamped by X25519 itself). */
export function keyPairFromSecret(curve: Curve, secret: Uint8Array): RawKeyPair {
  checkKeyBytes(`${curve} private key`, secret);
  const der = Buffer.concat([PKCS8_PREFIX[curve], secret]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({
    format: "jwk",
  });
  return {
    curve,
    publicKey: Buffer.from(jwk.x ?? "", "base64url"),
    privateKey: Buffer.from(secret),
  };
}

export interface BoardIdentity {
  signing: RawKeyPair;
  wrapping: RawKeyPair;
  /** The x25519 secret of its Tor client authorization for job hosts found on this board. */
  clientAuth: RawKeyPair;
  /** Its pseudonym on this board: the RFC 7638 thumbprint of the derived signing key. */
  pseudonym: string;
}

const SALT = Buffer.from("tormr/board-identity/v1");

/**
 * Derives the keys a worker shows one board (RFC 5869 HKDF-SHA256, the worker's Ed25519 seed as
 * input keying material, the board's onion address and the key's purpose as info). The same
 * worker gets the same pseudonym on a board every time, and unrelated ones on two boards: without
 * the seed, nobody can tell that two pseudonyms are one worker's.
 * @param board The board's v3 onion address, 56 characters without ".onion".
 */
export function deriveBoardIdentity(
  identity: { signing: RawKeyPair },
  board: string,
): BoardIdentity {
  if (!/^[a-z2-7]{56}$/.test(board)) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `board: expected a v3 onion address (56 base32 characters, no .onion), got ${JSON.stringify(board)}`,
    );
  }
  checkKeyBytes("Ed25519 private key", identity.signing.privateKey);
  const derive = (purpose: string) =>
    Buffer.from(hkdfSync("sha256", identity.signing.privateKey, SALT, `${board}/${purpose}`, 32));
  const signing = keyPairFromSecret("Ed25519", derive("signing"));
  return {
    signing,
    wrapping: keyPairFromSecret("X25519", derive("wrapping")),
    clientAuth: keyPairFromSecret("X25519", derive("tor-client-auth")),
    pseudonym: pseudonymOf(signing.publicKey),
  };
}

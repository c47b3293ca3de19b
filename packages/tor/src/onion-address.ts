// v3 onion addresses: build one from an Ed25519 public key and validate one (rend-spec-v3 §6 "Encoding onion addresses").
import { createHash } from "node:crypto";
import { base32Decode, base32Encode } from "./base32.ts";
import { TorError } from "./errors.ts";

const VERSION = 3;
const CHECKSUM_PREFIX = Buffer.from(".onion checksum", "ascii");

/** CHECKSUM = SHA3-256(".onion checksum" || PUBKEY || VERSION)[:2] (rend-spec-v3 §6). */
function checksum(publicKey: Uint8Array): Buffer {
  return createHash("sha3-256")
    .update(CHECKSUM_PREFIX)
    .update(publicKey)
    .update(Buffer.from([VERSION]))
    .digest()
    .subarray(0, 2);
}

/**
 * The service id (56 lowercase base32 characters, without ".onion") of an Ed25519 public key:
 * base32(PUBKEY || CHECKSUM || VERSION), rend-spec-v3 §6.
 */
export function serviceIdFromPublicKey(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      `expected a 32-byte Ed25519 public key, got length=${publicKey.length}`,
    );
  }
  return base32Encode(Buffer.concat([publicKey, checksum(publicKey), Buffer.from([VERSION])]));
}

export interface ParsedOnionAddress {
  /** 56 lowercase characters, no ".onion": what ADD_ONION returns and the client-auth commands take. */
  serviceId: string;
  /** `<serviceId>.onion`: what a SOCKS client sends. */
  hostname: string;
  publicKey: Buffer;
}

/**
 * Validates a v3 onion address, with or without ".onion" (and a subdomain, as tor allows):
 * length, alphabet, version byte and checksum (rend-spec-v3 §6).
 * @throws TorError ERR_ONION_ADDRESS saying which check failed.
 */
export function parseOnionAddress(address: string): ParsedOnionAddress {
  const bad = (why: string) =>
    new TorError(
      "ERR_ONION_ADDRESS",
      `${JSON.stringify(address)} is not a v3 onion address: ${why}`,
    );
  const labels = address
    .toLowerCase()
    .replace(/\.onion$/, "")
    .split(".");
  const serviceId = labels[labels.length - 1] ?? "";
  if (serviceId.length !== 56) throw bad(`expected 56 base32 characters, got ${serviceId.length}`);
  if (!/^[a-z2-7]{56}$/.test(serviceId)) throw bad("expected only the characters a-z and 2-7");
  const decoded = base32Decode(serviceId);
  const publicKey = decoded.subarray(0, 32);
  if (decoded[34] !== VERSION) throw bad(`expected version byte 3, got ${decoded[34]}`);
  if (!checksum(publicKey).equals(decoded.subarray(32, 34)))
    throw bad("its checksum does not match");
  return { serviceId, hostname: `${serviceId}.onion`, publicKey: Buffer.from(publicKey) };
}

export function isOnionAddress(address: string): boolean {
  try {
    parseOnionAddress(address);
    return true;
  } catch {
    return false;
  }
}

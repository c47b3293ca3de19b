// v3 client authorization: x25519 key pairs in tor's encodings, and ONION_CLIENT_AUTH_ADD/REMOVE (control-spec §3.30, §3.31).
import { generateKeyPairSync } from "node:crypto";
import { base32Encode } from "../base32.ts";
import { TorError } from "../errors.ts";
import { parseOnionAddress } from "../onion-address.ts";
import type { TorControl } from "./tor-control.ts";

export interface ClientAuthKeyPair {
  /** Base32 (RFC 4648, no padding), for the service's `ClientAuthV3=` (rend-spec-v3 appendix G.1.2). */
  publicKey: string;
  /** Base64, for the client's `ONION_CLIENT_AUTH_ADD ... x25519:<key>`. */
  privateKey: string;
}

/**
 * A fresh x25519 key pair for one client of one service. Keep it apart from every other key: tor
 * holds the private half in its own state.
 */
export function generateClientAuthKeyPair(): ClientAuthKeyPair {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  const pub = Buffer.from(jwk.x ?? "", "base64url");
  const priv = Buffer.from(jwk.d ?? "", "base64url");
  return { publicKey: base32Encode(pub).toUpperCase(), privateKey: priv.toString("base64") };
}

/**
 * ONION_CLIENT_AUTH_ADD (control-spec §3.30): lets this tor reach a service that requires client
 * authorization. The key lives in tor's memory only (no Flags=Permanent), and a SIGHUP drops it.
 */
export async function onionClientAuthAdd(
  control: TorControl,
  address: string,
  privateKey: string,
): Promise<void> {
  const { serviceId } = parseOnionAddress(address);
  if (!/^[A-Za-z0-9+/]{43}=$/.test(privateKey)) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      "expected a client-auth private key as 32 bytes in base64",
    );
  }
  await control.send(`ONION_CLIENT_AUTH_ADD ${serviceId} x25519:${privateKey}`);
}

/** ONION_CLIENT_AUTH_REMOVE (control-spec §3.31): forgets the key; new circuits to the service then fail. */
export async function onionClientAuthRemove(control: TorControl, address: string): Promise<void> {
  const { serviceId } = parseOnionAddress(address);
  await control.send(`ONION_CLIENT_AUTH_REMOVE ${serviceId}`);
}

// An onion service's ED25519-V3 key as ADD_ONION gives and takes it: its address, and a 0600 file that keeps it across restarts.
import { createHash, randomBytes } from "node:crypto";
import { z } from "zod";
import { publicKeyFromScalar } from "./_ed25519.ts";
import { TorError } from "./errors.ts";
import { serviceIdFromPublicKey } from "./onion-address.ts";
import { readPrivateFile, writePrivateFile } from "./private-file.ts";

/** `ED25519-V3:<base64 of 64 bytes>`, the KeyType:KeyBlob of control-spec §3.27 ADD_ONION. */
const KEY_BLOB = /^ED25519-V3:([A-Za-z0-9+/]{86}==)$/;

/**
 * The service id of an `ED25519-V3:` key blob. The blob is tor's expanded secret key (control-spec
 * §3.27): the 32-byte clamped scalar `a`, then the 32-byte PRF secret. It is not an RFC 8032 seed,
 * so node:crypto cannot load it; the public key is [a]B, computed here (see _ed25519.ts).
 * @throws TorError ERR_ONION_KEY for anything but a 64-byte ED25519-V3 blob.
 */
export function serviceIdFromKeyBlob(keyBlob: string): string {
  const match = KEY_BLOB.exec(keyBlob);
  if (!match) {
    throw new TorError(
      "ERR_ONION_KEY",
      "expected an onion key as 'ED25519-V3:' and 64 bytes in base64",
    );
  }
  const expanded = Buffer.from(match[1] ?? "", "base64");
  return serviceIdFromPublicKey(publicKeyFromScalar(expanded.subarray(0, 32)));
}

/**
 * A new onion service key, made here without tor: tor's expanded form of an Ed25519 key (the
 * clamped SHA-512 of a random seed, then the hash's second half; rend-spec-v3 appendix A), so
 * that a service's address is known before tor is asked to publish it.
 */
export function generateOnionKey(): OnionKeyFile {
  const hash = createHash("sha512").update(randomBytes(32)).digest();
  const scalar = hash.subarray(0, 32);
  scalar[0] = (scalar[0] ?? 0) & 248;
  scalar[31] = ((scalar[31] ?? 0) & 127) | 64;
  const keyBlob = `ED25519-V3:${hash.toString("base64")}`;
  return { serviceId: serviceIdFromKeyBlob(keyBlob), keyBlob };
}

/** The key in `path`, or a new one saved there (0600) on first use. */
export async function loadOrCreateOnionKey(
  path: string,
): Promise<OnionKeyFile & { created: boolean }> {
  const saved = await loadOnionKey(path);
  if (saved) return { ...saved, created: false };
  const made = generateOnionKey();
  await saveOnionKey(path, made);
  return { ...made, created: true };
}

/** Throws unless the key blob belongs to the service id tor reported. */
export function assertKeyMatches(keyBlob: string, serviceId: string): void {
  const derived = serviceIdFromKeyBlob(keyBlob);
  if (derived !== serviceId) {
    throw new TorError(
      "ERR_ONION_KEY",
      `the onion key belongs to ${derived}.onion, but tor reported ${serviceId}.onion`,
    );
  }
}

export interface OnionKeyFile {
  serviceId: string;
  keyBlob: string;
}

const fileSchema = z.object({
  version: z.literal(1),
  serviceId: z.string().regex(/^[a-z2-7]{56}$/),
  privateKey: z.string().regex(KEY_BLOB),
  createdAt: z.string(),
});

/** Writes the key to `path` (0600, atomically); the key is checked against `serviceId` first. */
export async function saveOnionKey(path: string, key: OnionKeyFile): Promise<void> {
  assertKeyMatches(key.keyBlob, key.serviceId);
  const body = {
    version: 1,
    serviceId: key.serviceId,
    privateKey: key.keyBlob,
    createdAt: new Date().toISOString(),
  };
  await writePrivateFile(path, `${JSON.stringify(body, null, 2)}\n`);
}

/**
 * Reads a key saved by saveOnionKey. A file that others can read is refused, as ssh refuses a
 * loose private key; so is one whose key does not give its recorded address.
 * @returns undefined when there is no file yet.
 */
export async function loadOnionKey(path: string): Promise<OnionKeyFile | undefined> {
  const text = await readPrivateFile(path, "an onion service key");
  if (text === undefined) return undefined;
  const corrupt = (why: string) =>
    new TorError(
      "ERR_ONION_KEY_CORRUPT",
      `${path} is not an onion key file (${why}); move it away to get a new address`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt("not JSON");
  }
  const parsed = fileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw corrupt(`${issue?.path.join(".") || "file"}: ${issue?.message}`);
  }
  if (serviceIdFromKeyBlob(parsed.data.privateKey) !== parsed.data.serviceId) {
    throw corrupt("its key does not give its serviceId");
  }
  return { serviceId: parsed.data.serviceId, keyBlob: parsed.data.privateKey };
}

// A party's long-lived keys on its own disk, 0600: an Ed25519 key (its pseudonym) and an X25519 key. Workers and job hosts keep one.
import { createPublicKey, randomBytes } from "node:crypto";
import { link, mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import {
  type Curve,
  generateKeyPair,
  privateKeyObject,
  pseudonymOf,
  type RawKeyPair,
} from "./keys.ts";

export interface WorkerIdentity {
  /** Signs the worker's requests; its RFC 7638 thumbprint is the worker's pseudonym. */
  signing: RawKeyPair;
  /** Bucket keys are wrapped to it. */
  wrapping: RawKeyPair;
  pseudonym: string;
}

export class IdentityError extends Error {
  override readonly name = "IdentityError";
  constructor(
    readonly code: "ERR_IDENTITY_PERMISSIONS" | "ERR_IDENTITY_CORRUPT" | "ERR_IDENTITY_FOLDER",
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

export const IDENTITY_FILE = "identity.json";

const key = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "expected 32 bytes in base64url");
const pairSchema = z.object({ publicKey: key, privateKey: key });
const fileSchema = z.object({
  version: z.literal(1),
  signing: pairSchema,
  wrapping: pairSchema,
  createdAt: z.string(),
});

function toPair(curve: Curve, stored: z.infer<typeof pairSchema>): RawKeyPair {
  return {
    curve,
    publicKey: Buffer.from(stored.publicKey, "base64url"),
    privateKey: Buffer.from(stored.privateKey, "base64url"),
  };
}

/** Does the public key belong to the private key? A file edited by hand could pair two keys. */
function matches(pair: RawKeyPair): boolean {
  const derived = createPublicKey(privateKeyObject(pair)).export({ format: "jwk" }).x;
  return derived === pair.publicKey.toString("base64url");
}

/**
 * Loads the identity in `dir`, or creates one on first start. The folder is made 0700 and the file
 * 0600; a file that others can read is refused, as ssh refuses a loose private key.
 * @throws IdentityError naming the path and what to do.
 */
export async function loadOrCreateIdentity(
  dir: string,
): Promise<{ identity: WorkerIdentity; created: boolean }> {
  const path = join(dir, IDENTITY_FILE);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new IdentityError(
      "ERR_IDENTITY_FOLDER",
      dir,
      `cannot make ${dir}: ${(error as Error).message}`,
    );
  }
  const existing = await stat(path).catch(() => undefined);
  if (existing) return { identity: await loadIdentity(path), created: false };
  const created = await createIdentity(dir, path);
  // Another start may have won the race to create it: then that one is the identity.
  return created
    ? { identity: created, created: true }
    : { identity: await loadIdentity(path), created: false };
}

async function loadIdentity(path: string): Promise<WorkerIdentity> {
  const info = await stat(path);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8);
    throw new IdentityError(
      "ERR_IDENTITY_PERMISSIONS",
      path,
      `${path} holds private keys but has mode ${mode}; run 'chmod 600 ${path}' and start again`,
    );
  }
  const corrupt = (why: string) =>
    new IdentityError(
      "ERR_IDENTITY_CORRUPT",
      path,
      `${path} is not an identity file (${why}); move it away to make a new one (its pseudonym is then lost)`,
    );
  let parsed: z.infer<typeof fileSchema>;
  try {
    const result = fileSchema.safeParse(JSON.parse(await readFile(path, "utf8")));
    if (!result.success) {
      const issue = result.error.issues[0];
      throw corrupt(`${issue?.path.join(".") || "file"}: ${issue?.message}`);
    }
    parsed = result.data;
  } catch (error) {
    if (error instanceof IdentityError) throw error;
    throw corrupt("not JSON");
  }
  const signing = toPair("Ed25519", parsed.signing);
  const wrapping = toPair("X25519", parsed.wrapping);
  if (!matches(signing) || !matches(wrapping))
    throw corrupt("a public key does not match its private key");
  return { signing, wrapping, pseudonym: pseudonymOf(signing.publicKey) };
}

/** Writes a new identity under a temporary name, fsyncs it, then links it into place (never over one). */
async function createIdentity(dir: string, path: string): Promise<WorkerIdentity | undefined> {
  const signing = generateKeyPair("Ed25519");
  const wrapping = generateKeyPair("X25519");
  const encode = (pair: RawKeyPair) => ({
    publicKey: pair.publicKey.toString("base64url"),
    privateKey: pair.privateKey.toString("base64url"),
  });
  const body = {
    version: 1,
    signing: encode(signing),
    wrapping: encode(wrapping),
    createdAt: new Date().toISOString(),
  };
  const temporary = join(dir, `.${IDENTITY_FILE}.${randomBytes(6).toString("hex")}`);
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(body, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
    throw error;
  } finally {
    await unlink(temporary).catch(() => {});
  }
  return { signing, wrapping, pseudonym: pseudonymOf(signing.publicKey) };
}

// Capability secrets (status links, worker tokens, join tickets): random, shown once, stored only as a hash.
import { createHash, randomBytes } from "node:crypto";

/** 32 random bytes, base64url: 43 characters. */
export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A public id: 16 random bytes, base64url. Never a secret: it only names a row. */
export function newId(): string {
  return randomBytes(16).toString("base64url");
}

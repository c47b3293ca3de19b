// Anti-flood stamps: hashcash (version 1 syntax) over SHA-256, so every registration and post costs its sender some work.
import { createHash, randomBytes } from "node:crypto";
import { CryptoError } from "./errors.ts";

/** The most work a board may ask for: 2^28 hashes is minutes of one core. */
export const MAX_STAMP_BITS = 28;

/**
 * A stamp is `1:<bits>:<date>:<resource>::<rand>:<counter>` (hashcash.org's version 1 format,
 * docs/hashcash.html §"Format"), valid when the SHA-256 of its text starts with `bits` zero bits.
 * The date is UTC `YYMMDDhhmm`. The resource binds it to one board and one purpose, e.g.
 * `<board onion>/register`: a stamp minted for one board is worthless on another.
 */
const STAMP =
  /^1:(\d{1,2}):(\d{10}):([!-9;-~]{1,200}):[!-9;-~]{0,64}:[A-Za-z0-9+/=]{1,32}:[A-Za-z0-9+/=]{1,32}$/;

export interface StampCheck {
  /** What the stamp must be for: the board's resource string for this action. */
  resource: string;
  /** The work asked for, in leading zero bits. */
  bits: number;
  /** How old a stamp may be; a stamp dated more than 5 minutes ahead is refused too. */
  maxAgeMs?: number;
  now?: Date;
}

function checkBits(bits: number): number {
  if (!Number.isInteger(bits) || bits < 0 || bits > MAX_STAMP_BITS) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `bits: expected an integer from 0 to ${MAX_STAMP_BITS}, got ${String(bits)}`,
    );
  }
  return bits;
}

function stampDate(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    two(date.getUTCFullYear() % 100) +
    two(date.getUTCMonth() + 1) +
    two(date.getUTCDate()) +
    two(date.getUTCHours()) +
    two(date.getUTCMinutes())
  );
}

function parseStampDate(text: string): Date {
  const [yy, mm, dd, hh, mi] = (text.match(/../g) ?? []).map(Number) as number[];
  return new Date(Date.UTC(2000 + (yy ?? 0), (mm ?? 1) - 1, dd ?? 1, hh ?? 0, mi ?? 0));
}

/** Leading zero bits of a digest. */
function zeroBits(digest: Buffer): number {
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(byte) - 24;
  }
  return bits;
}

export function stampDigest(stamp: string): Buffer {
  return createHash("sha256").update(stamp, "utf8").digest();
}

/**
 * Mints a stamp of `bits` for `resource`: about 2^bits hashes (20 bits: about a second here).
 * This is what a worker runs before it registers; the board's form prints the same as a command.
 */
export function mintStamp(resource: string, bits: number, now = new Date()): string {
  checkBits(bits);
  if (!/^[!-9;-~]{1,200}$/.test(resource)) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      "resource: expected 1 to 200 printable ASCII characters without ':' or spaces",
    );
  }
  const prefix = `1:${bits}:${stampDate(now)}:${resource}::${randomBytes(12).toString("base64")}:`;
  for (let counter = 0; ; counter++) {
    const stamp = `${prefix}${counter.toString(36)}`;
    if (zeroBits(stampDigest(stamp)) >= bits) return stamp;
  }
}

export type StampProblem =
  | "malformed"
  | "wrong resource"
  | "too little work"
  | "expired"
  | "dated in the future";

/**
 * Checks a stamp's syntax, resource, date and work. Whether it was spent before is the caller's
 * to check (the board keeps spent stamps' digests).
 * @returns undefined for a good stamp, else what is wrong with it, for a message that says so.
 */
export function checkStamp(stamp: string, check: StampCheck): StampProblem | undefined {
  const match = STAMP.exec(stamp);
  if (!match) return "malformed";
  const [, bitsText, dateText, resource] = match;
  if (resource !== check.resource) return "wrong resource";
  const claimed = Number(bitsText);
  if (claimed < checkBits(check.bits) || zeroBits(stampDigest(stamp)) < check.bits) {
    return "too little work";
  }
  const now = (check.now ?? new Date()).getTime();
  const date = parseStampDate(dateText ?? "").getTime();
  if (Number.isNaN(date)) return "malformed";
  if (date > now + 5 * 60_000) return "dated in the future";
  if (date < now - (check.maxAgeMs ?? 60 * 60_000) - 60_000) return "expired";
  return undefined;
}

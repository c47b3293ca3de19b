// Proof of possession for store requests, modelled on DPoP (RFC 9449): the worker signs each request.
import { randomBytes } from "node:crypto";
import { compactVerify, decodeProtectedHeader, errors, SignJWT } from "jose";
import { z } from "zod";
import { CryptoError, GrantError } from "./errors.ts";
import type { GrantClaims } from "./grant.ts";
import { privateKeyObject, pseudonymOf, publicKeyObject, type RawKeyPair } from "./keys.ts";

/** The request header carrying the proof (RFC 9449 §4.1 calls it `DPoP`). */
export const PROOF_HEADER = "tormr-proof";
/** The request header carrying the grant, as `Bearer <grant>` (RFC 6750 §2.1). */
export const GRANT_HEADER = "authorization";
/** The JWS `typ` of a proof (RFC 9449 §4.2 uses `dpop+jwt`). */
export const PROOF_TYP = "tormr-pop+jwt";
export const DEFAULT_PROOF_WINDOW_SECONDS = 60;
/** Longer proofs are refused unparsed; a real one is a few hundred bytes plus the path. */
const MAX_PROOF_LENGTH = 8192;

/** The grant in an `authorization: Bearer <grant>` header (scheme case-insensitive, RFC 9110 §11.1). */
export function bearerToken(headerValue: string | undefined): string | undefined {
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(headerValue ?? "");
  return match?.[1];
}

// 1. Replay cache ----------------------------------------------------------------------------

/**
 * Remembers proof nonces until their proofs fall out of the replay window (RFC 9449 §11.1).
 *
 * Memory is bounded by `maxEntries`. When it is full of unexpired nonces, new proofs are refused
 * (fail closed) rather than the oldest nonces evicted: eviction would let an evicted proof be
 * replayed, while refusal only delays honest requests until the window moves on.
 */
export class ReplayCache {
  readonly maxEntries: number;
  /** Nonce → Unix second after which it may be forgotten. Insertion order ≈ expiry order. */
  readonly #expiries = new Map<string, number>();
  #lastSweep = Number.NEGATIVE_INFINITY;

  constructor(options: { maxEntries?: number } = {}) {
    const max = options.maxEntries ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new CryptoError(
        "ERR_CRYPTO_ARGUMENT",
        `maxEntries: expected a positive integer, got ${max}`,
      );
    }
    this.maxEntries = max;
  }

  get size(): number {
    return this.#expiries.size;
  }

  /**
   * Records `nonce` as used until `expiresAt` (Unix seconds, inclusive).
   * @returns `fresh` if it was not in use, `replayed` if it was, `full` if there is no room.
   */
  remember(nonce: string, expiresAt: number, now: number): "fresh" | "replayed" | "full" {
    const known = this.#expiries.get(nonce);
    if (known !== undefined && known >= now) return "replayed";
    this.#dropExpired(now);
    if (this.#expiries.size >= this.maxEntries) return "full";
    this.#expiries.delete(nonce);
    this.#expiries.set(nonce, expiresAt);
    return "fresh";
  }

  #dropExpired(now: number): void {
    for (const [nonce, expiresAt] of this.#expiries) {
      if (expiresAt >= now) break;
      this.#expiries.delete(nonce);
    }
    // Entries arrive slightly out of expiry order; a full sweep, at most once a second, when full.
    if (this.#expiries.size >= this.maxEntries && now > this.#lastSweep) {
      this.#lastSweep = now;
      for (const [nonce, expiresAt] of this.#expiries) {
        if (expiresAt < now) this.#expiries.delete(nonce);
      }
    }
  }
}

// 2. Signing ---------------------------------------------------------------------------------

const nowSeconds = () => Math.floor(Date.now() / 1000);

function checkArgument(ok: boolean, message: string): void {
  if (!ok) throw new CryptoError("ERR_CRYPTO_ARGUMENT", message);
}

/**
 * Signs a request as a JWS (RFC 7515) with EdDSA (RFC 8037), header `{ alg: "EdDSA", typ:
 * "tormr-pop+jwt", jwk }` carrying the worker's public key (RFC 9449 §4.2), and payload
 * `{ htm, htp, gjti, iat, jti }`: method, path with query, grant jti, time and a random nonce.
 *
 * @param options.now Unix time in seconds (default: the clock).
 */
export async function signRequest(
  identity: RawKeyPair,
  request: { method: string; path: string; grantJti: string },
  options: { now?: number } = {},
): Promise<string> {
  checkArgument(identity.curve === "Ed25519", `identity: expected Ed25519, got ${identity.curve}`);
  checkArgument(
    /^[A-Za-z]+$/.test(request.method),
    `method: expected letters, got ${JSON.stringify(request.method)}`,
  );
  checkArgument(
    request.path.startsWith("/"),
    `path: expected it to start with '/', got ${JSON.stringify(request.path.slice(0, 80))}`,
  );
  checkArgument(request.grantJti.length > 0, "grantJti: expected a non-empty string");
  const x = Buffer.from(identity.publicKey).toString("base64url");
  return new SignJWT({
    htm: request.method.toUpperCase(),
    htp: request.path,
    gjti: request.grantJti,
  })
    .setProtectedHeader({ alg: "EdDSA", typ: PROOF_TYP, jwk: { kty: "OKP", crv: "Ed25519", x } })
    .setIssuedAt(Math.floor(options.now ?? nowSeconds()))
    .setJti(randomBytes(16).toString("base64url"))
    .sign(privateKeyObject(identity));
}

// 3. Verifying -------------------------------------------------------------------------------

/** RFC 8037 §2: a public OKP key and nothing else; `d` (RFC 9449 §4.3 check 7) is refused. */
const publicJwkSchema = z.strictObject({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
});
const headerSchema = z.strictObject({
  alg: z.literal("EdDSA"),
  typ: z.literal(PROOF_TYP),
  jwk: publicJwkSchema,
});
const payloadSchema = z.strictObject({
  htm: z.string(),
  htp: z.string(),
  gjti: z.string(),
  iat: z.int(),
  /** At least 96 bits of randomness (RFC 9449 §4.2), bounded to keep cache entries small. */
  jti: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
});

function invalid(what: string, cause?: unknown): GrantError {
  return new GrantError("ERR_PROOF_INVALID", `request proof rejected: ${what}`, { cause });
}

/** Why the header is refused: the first failing member, never its value. */
function headerProblem(error: z.ZodError): string {
  const [member] = error.issues[0]?.path ?? [];
  if (member === "alg") return "algorithm not allowed";
  if (member === "typ") return 'unexpected "typ"';
  if (member === "jwk") return "jwk is not a public Ed25519 key";
  return "unexpected header";
}

/**
 * Verifies a request's proof against the request and its (already verified) grant, as RFC 9449
 * §4.3: well-formed, signed by the embedded public key, that key's thumbprint (RFC 7638) is the
 * grant's audience, method, path and grant jti match, `iat` within the window, nonce unused.
 *
 * @throws GrantError `ERR_PROOF_INVALID`, `ERR_GRANT_AUDIENCE` (a grant used by another worker),
 *   or `ERR_PROOF_REPLAYED` (outside the window, nonce seen, or the replay cache full).
 */
export async function verifyRequest(
  proof: string | undefined,
  expected: { method: string; path: string; grant: GrantClaims },
  options: { replayCache: ReplayCache; now?: number; windowSeconds?: number },
): Promise<void> {
  const window = options.windowSeconds ?? DEFAULT_PROOF_WINDOW_SECONDS;
  checkArgument(
    Number.isSafeInteger(window) && window > 0,
    `windowSeconds: expected a positive integer, got ${window}`,
  );
  if (proof === undefined || proof === "") throw invalid("missing");
  if (typeof proof !== "string" || proof.length > MAX_PROOF_LENGTH) throw invalid("malformed");

  let header: unknown;
  try {
    header = decodeProtectedHeader(proof);
  } catch (error) {
    throw invalid("malformed", error);
  }
  const parsedHeader = headerSchema.safeParse(header);
  if (!parsedHeader.success) throw invalid(headerProblem(parsedHeader.error));
  const { x } = parsedHeader.data.jwk;
  const publicKey = Buffer.from(x, "base64url");
  if (publicKey.length !== 32 || publicKey.toString("base64url") !== x) {
    throw invalid("jwk is not a public Ed25519 key");
  }

  let payloadBytes: Uint8Array;
  try {
    ({ payload: payloadBytes } = await compactVerify(proof, publicKeyObject("Ed25519", publicKey), {
      algorithms: ["EdDSA"],
    }));
  } catch (error) {
    throw invalid(
      error instanceof errors.JWSSignatureVerificationFailed ? "bad signature" : "malformed",
      error,
    );
  }
  const signer = pseudonymOf(publicKey);
  if (signer !== expected.grant.aud) {
    throw new GrantError(
      "ERR_GRANT_AUDIENCE",
      "request proof rejected: signed by another worker than the grant's",
    );
  }

  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payloadBytes).toString("utf8"));
  } catch (error) {
    throw invalid("malformed", error);
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) {
    const path = parsed.error.issues[0]?.path.join(".") || "(payload)";
    throw invalid(`invalid claim "${path}"`, parsed.error);
  }
  const claims = parsed.data;
  if (claims.htm !== expected.method.toUpperCase()) throw invalid("method does not match");
  if (claims.htp !== expected.path) throw invalid("path does not match");
  if (claims.gjti !== expected.grant.jti) throw invalid("grant does not match");

  const now = Math.floor(options.now ?? nowSeconds());
  if (Math.abs(now - claims.iat) > window) {
    throw new GrantError("ERR_PROOF_REPLAYED", "request proof rejected: outside the replay window");
  }
  const seen = options.replayCache.remember(`${signer}.${claims.jti}`, claims.iat + window, now);
  if (seen === "replayed") {
    throw new GrantError("ERR_PROOF_REPLAYED", "request proof rejected: replayed");
  }
  if (seen === "full") {
    throw new GrantError("ERR_PROOF_REPLAYED", "request proof rejected: too many recent requests");
  }
}

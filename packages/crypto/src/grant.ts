// Grants: per-task-attempt capabilities for the bucket store, EdDSA JWTs signed by the job host.
import { randomBytes } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { z } from "zod";
import {
  isValidBucketId,
  isValidBucketIdPrefix,
  isValidJobId,
  parseMapOutputId,
  quoteForMessage,
} from "./bucket-id.ts";
import { CryptoError, GrantError } from "./errors.ts";
import { privateKeyObject, publicKeyObject, type RawKeyPair } from "./keys.ts";

/** The JWS `typ` of a grant (RFC 7515 §4.1.9, RFC 8725 §3.11: explicit typing). */
export const GRANT_TYP = "tormr-grant+jwt";
export const DEFAULT_GRANT_TTL_SECONDS = 300;

// 1. Claims ----------------------------------------------------------------------------------

const jobId = z.string().refine(isValidJobId, "expected a job id of [A-Za-z0-9_-]+");
const index = z.int().nonnegative();

export const readScopeSchema = z.discriminatedUnion("kind", [
  /** One bucket, by its exact id. */
  z.object({
    kind: z.literal("bucket"),
    id: z.string().refine(isValidBucketId, "expected a bucket id"),
  }),
  /** Partition `partition` of every committed map output of `job` (what a reducer reads). */
  z.object({ kind: z.literal("map-partition"), job: jobId, partition: index }),
]);
export type ReadScope = z.infer<typeof readScopeSchema>;

export const grantClaimsSchema = z
  .object({
    /** RFC 7519 §4.1.1: the job host's id. */
    iss: z.string().min(1),
    /** RFC 7519 §4.1.3: the worker's pseudonym, proven by each request's proof (request-proof.ts). */
    aud: z.string().min(1),
    job: jobId,
    /** The task, e.g. `m3` or `r0`. */
    task: z.string().min(1),
    attempt: index,
    read: z.array(readScopeSchema),
    /** Bucket-id prefixes, each ending in `/` so that `…/3/0/` never covers `…/3/01/p0`. */
    write: z.array(
      z.string().refine(isValidBucketIdPrefix, "expected a bucket id followed by '/'"),
    ),
    /** The total number of bytes this grant may upload. */
    maxBytes: index,
    jti: z.string().min(1),
    iat: z.int(),
    exp: z.int(),
  })
  .superRefine((claims, ctx) => {
    const jobPrefix = `j/${claims.job}/`;
    claims.write.forEach((prefix, i) => {
      if (!prefix.startsWith(jobPrefix) || prefix === jobPrefix) {
        const message = `expected a prefix below '${jobPrefix}'`;
        ctx.addIssue({ code: "custom", path: ["write", i], message });
      }
    });
    if (claims.exp <= claims.iat) {
      ctx.addIssue({ code: "custom", path: ["exp"], message: "expected exp after iat" });
    }
  });
export type GrantClaims = z.infer<typeof grantClaimsSchema>;

/** `write.0` for the first failing claim: names the field, never echoes its value. */
function failingClaim(error: z.ZodError): { path: string; message: string } {
  const issue = error.issues[0];
  return { path: issue?.path.join(".") || "(claims)", message: issue?.message ?? "invalid" };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

// 2. Issuing ---------------------------------------------------------------------------------

/**
 * Signs a grant as a JWT (RFC 7519) with EdDSA over Ed25519 (RFC 8037 §3.1), header
 * `{ alg: "EdDSA", typ: "tormr-grant+jwt" }`. `jti` defaults to 16 random bytes, base64url.
 *
 * @param options.now Unix time in seconds (default: the clock).
 * @throws CryptoError `ERR_CRYPTO_ARGUMENT` if the key is not Ed25519 or a claim is malformed.
 */
export async function issueGrant(
  signer: RawKeyPair,
  claims: Omit<GrantClaims, "iat" | "exp" | "jti"> & { jti?: string },
  options: { ttlSeconds?: number; now?: number } = {},
): Promise<string> {
  if (signer.curve !== "Ed25519") {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `grant signer: expected Ed25519, got ${signer.curve}`,
    );
  }
  const ttl = options.ttlSeconds ?? DEFAULT_GRANT_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl <= 0) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `ttlSeconds: expected a positive integer, got ${ttl}`,
    );
  }
  const iat = Math.floor(options.now ?? nowSeconds());
  const jti = claims.jti ?? randomBytes(16).toString("base64url");
  const parsed = grantClaimsSchema.safeParse({ ...claims, jti, iat, exp: iat + ttl });
  if (!parsed.success) {
    const { path, message } = failingClaim(parsed.error);
    throw new CryptoError("ERR_CRYPTO_ARGUMENT", `grant claim "${path}": ${message}`);
  }
  return new SignJWT(parsed.data)
    .setProtectedHeader({ alg: "EdDSA", typ: GRANT_TYP })
    .sign(privateKeyObject(signer));
}

// 3. Verifying -------------------------------------------------------------------------------

/** RFC 7515 §7.1 compact serialization; an empty signature is let through for jose to refuse. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

export interface VerifyGrantOptions {
  /** The job host id the grant must be issued by (RFC 7519 §4.1.1). */
  issuer: string;
  /** If set, the grant must be for this job. */
  job?: string;
  /** Unix time in seconds (default: the clock). */
  now?: number;
  clockToleranceSeconds?: number;
  isRevoked?: (jti: string) => boolean | Promise<boolean>;
}

/** Maps a jose failure to a GrantError naming only the class of problem (no oracle, no key). */
function rejection(error: unknown): GrantError {
  const reject = (
    code: "ERR_GRANT_MISSING" | "ERR_GRANT_INVALID" | "ERR_GRANT_EXPIRED",
    what: string,
  ) => new GrantError(code, `grant rejected: ${what}`, { cause: error });
  if (error instanceof errors.JWTExpired) return reject("ERR_GRANT_EXPIRED", "expired");
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return reject("ERR_GRANT_INVALID", "bad signature");
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return reject("ERR_GRANT_INVALID", "algorithm not allowed");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    return reject("ERR_GRANT_INVALID", `unexpected "${error.claim}"`);
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) {
    return reject("ERR_GRANT_MISSING", "malformed");
  }
  return reject("ERR_GRANT_INVALID", "invalid");
}

/**
 * Verifies a grant JWT (RFC 7519 §7.2) signed with the job host's Ed25519 key: algorithm EdDSA
 * only (RFC 8725 §3.1), explicit `typ` (RFC 8725 §3.11), issuer, expiry, claims, job, revocation.
 * The audience is not checked here: {@link verifyRequest} binds it to the request's signer.
 *
 * @throws GrantError `ERR_GRANT_MISSING` (absent or malformed), `ERR_GRANT_INVALID` (signature,
 *   algorithm, type, issuer or claims), `ERR_GRANT_EXPIRED`, `ERR_GRANT_JOB`, `ERR_GRANT_REVOKED`.
 * @throws CryptoError `ERR_CRYPTO_ARGUMENT` if `hostPublicKey` is not 32 bytes (a setup error).
 */
export async function verifyGrant(
  token: string | undefined,
  hostPublicKey: Uint8Array,
  options: VerifyGrantOptions,
): Promise<GrantClaims> {
  const key = publicKeyObject("Ed25519", hostPublicKey);
  if (token === undefined || token === "") {
    throw new GrantError("ERR_GRANT_MISSING", "grant rejected: missing");
  }
  if (typeof token !== "string" || !COMPACT_JWS.test(token)) {
    throw new GrantError("ERR_GRANT_MISSING", "grant rejected: malformed");
  }
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      typ: GRANT_TYP,
      issuer: options.issuer,
      clockTolerance: options.clockToleranceSeconds ?? 0,
      ...(options.now === undefined ? {} : { currentDate: new Date(options.now * 1000) }),
    }));
  } catch (error) {
    throw rejection(error);
  }
  const parsed = grantClaimsSchema.safeParse(payload);
  if (!parsed.success) {
    const { path } = failingClaim(parsed.error);
    throw new GrantError("ERR_GRANT_INVALID", `grant rejected: invalid claim "${path}"`, {
      cause: parsed.error,
    });
  }
  const claims = parsed.data;
  if (options.job !== undefined && claims.job !== options.job) {
    throw new GrantError("ERR_GRANT_JOB", "grant rejected: issued for another job");
  }
  if (options.isRevoked !== undefined && (await options.isRevoked(claims.jti))) {
    throw new GrantError("ERR_GRANT_REVOKED", "grant rejected: revoked");
  }
  return claims;
}

// 4. Scopes ----------------------------------------------------------------------------------

/** May this grant create `bucketId`? Some write prefix (ending in `/`) must start the id. */
export function canWrite(claims: GrantClaims, bucketId: string): boolean {
  return isValidBucketId(bucketId) && claims.write.some((prefix) => bucketId.startsWith(prefix));
}

/**
 * May this grant read `bucketId`? Either a `bucket` scope names it exactly, or it is partition `p`
 * of a map output of job `j` under a `map-partition` scope `(j, p)`, and that map attempt committed.
 */
export function canRead(
  claims: GrantClaims,
  bucketId: string,
  isCommittedMapOutput: (job: string, map: number, attempt: number) => boolean,
): boolean {
  if (!isValidBucketId(bucketId)) return false;
  const output = parseMapOutputId(bucketId);
  return claims.read.some((scope) =>
    scope.kind === "bucket"
      ? scope.id === bucketId
      : output !== undefined &&
        output.job === scope.job &&
        output.partition === scope.partition &&
        isCommittedMapOutput(output.job, output.map, output.attempt),
  );
}

function scopeError(claims: GrantClaims, verb: string, bucketId: string): GrantError {
  return new GrantError(
    "ERR_GRANT_SCOPE",
    `grant for task ${quoteForMessage(claims.task)} may not ${verb} bucket ${quoteForMessage(String(bucketId))}`,
  );
}

/** @throws GrantError `ERR_GRANT_SCOPE` unless {@link canRead}. */
export function checkRead(
  claims: GrantClaims,
  bucketId: string,
  isCommittedMapOutput: (job: string, map: number, attempt: number) => boolean,
): void {
  if (!canRead(claims, bucketId, isCommittedMapOutput)) throw scopeError(claims, "read", bucketId);
}

/** @throws GrantError `ERR_GRANT_SCOPE` unless {@link canWrite}. */
export function checkWrite(claims: GrantClaims, bucketId: string): void {
  if (!canWrite(claims, bucketId)) throw scopeError(claims, "write", bucketId);
}

// The crypto layer's error types: a stable code, and one generic message for every decryption failure.

export type CryptoErrorCode =
  /** A caller passed a key, nonce or id of the wrong shape (a programming error, not an attack). */
  | "ERR_CRYPTO_ARGUMENT"
  /** A sealed bucket failed to open: tampered, truncated, reordered, spliced or wrongly keyed. */
  | "ERR_BUCKET_TAMPERED"
  /** A wrapped key failed to unwrap: wrong recipient, wrong bucket id, or tampered. */
  | "ERR_UNWRAP_FAILED";

export class CryptoError extends Error {
  override readonly name = "CryptoError";
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Every decryption failure says the same thing, so that the message is no oracle for an attacker.
 * The reason (which chunk, which check) is kept in `detail` for debug logs only.
 */
export const DECRYPT_FAILED_MESSAGE = "decryption failed: the data is corrupt or the key is wrong";

export class DecryptError extends CryptoError {
  constructor(
    code: "ERR_BUCKET_TAMPERED" | "ERR_UNWRAP_FAILED",
    /** Why it failed, for debug logs. Never shown to a peer. */
    readonly detail: string,
  ) {
    super(code, DECRYPT_FAILED_MESSAGE);
  }
}

export type GrantErrorCode =
  /** No grant, or not a well-formed grant JWT. */
  | "ERR_GRANT_MISSING"
  /** The grant's signature does not verify with the job host's key, or its claims are malformed. */
  | "ERR_GRANT_INVALID"
  | "ERR_GRANT_EXPIRED"
  /** The grant names another worker than the one whose key signed the request. */
  | "ERR_GRANT_AUDIENCE"
  /** The grant is for another job than the one asked about. */
  | "ERR_GRANT_JOB"
  /** The grant does not cover this bucket for this operation. */
  | "ERR_GRANT_SCOPE"
  | "ERR_GRANT_REVOKED"
  /** The request's proof-of-possession signature is missing, malformed or does not verify. */
  | "ERR_PROOF_INVALID"
  /** The proof's timestamp is outside the replay window, or its nonce was seen before. */
  | "ERR_PROOF_REPLAYED";

/** Authorization failures. `status` is the HTTP status a server answers with. */
export class GrantError extends Error {
  override readonly name = "GrantError";
  constructor(
    readonly code: GrantErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get status(): 401 | 403 {
    return this.code === "ERR_GRANT_SCOPE" || this.code === "ERR_GRANT_JOB" ? 403 : 401;
  }
}

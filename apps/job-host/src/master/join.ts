// Step 3 of the protocol: a joining worker proves it holds the Ed25519 key it names, by signing the challenge.
import { createPublicKey, verify } from "node:crypto";
import { pseudonymOf } from "@tormr/crypto/keys";
import { type JoinRequest, joinStatement } from "@tormr/protocol/worker-api";
import { MasterError } from "./master-error.ts";

/**
 * Checks the join signature over (ticket, challenge, both public keys) and returns the worker's
 * pseudonym. The wrapping key is signed too, so nobody can join with someone else's wrapping key.
 * @throws MasterError `ERR_SIGNATURE`.
 */
export function verifyJoin(request: JoinRequest): string {
  const signing = Buffer.from(request.keys.signing, "base64url");
  const wrapping = Buffer.from(request.keys.wrapping, "base64url");
  if (signing.length !== 32 || wrapping.length !== 32) {
    throw new MasterError(
      "ERR_SIGNATURE",
      "keys.signing and keys.wrapping must be 32-byte public keys",
    );
  }
  let ok = false;
  try {
    const key = createPublicKey({
      key: { kty: "OKP", crv: "Ed25519", x: request.keys.signing },
      format: "jwk",
    });
    ok = verify(
      null,
      joinStatement(request.ticket, request.challenge, request.keys),
      key,
      Buffer.from(request.signature, "base64url"),
    );
  } catch {
    ok = false;
  }
  if (!ok)
    throw new MasterError("ERR_SIGNATURE", "the join signature does not verify with keys.signing");
  return pseudonymOf(signing);
}

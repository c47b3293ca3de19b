// Per-board identities: stable on one board, unlinkable across boards, and real key pairs.
import { sign, verify } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveBoardIdentity, keyPairFromSecret } from "./board-identity.ts";
import {
  generateKeyPair,
  privateKeyObject,
  pseudonymOf,
  publicKeyObject,
  verifyEd25519,
} from "./keys.ts";

const BOARD_A = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";
const BOARD_B = "a".repeat(56);

describe("deriveBoardIdentity", () => {
  const identity = { signing: generateKeyPair("Ed25519") };

  it("gives the same keys on one board every time, and other keys on another board", () => {
    const a1 = deriveBoardIdentity(identity, BOARD_A);
    const a2 = deriveBoardIdentity(identity, BOARD_A);
    const b = deriveBoardIdentity(identity, BOARD_B);
    expect(a2).toEqual(a1);
    expect(b.pseudonym).not.toBe(a1.pseudonym);
    for (const key of ["signing", "wrapping", "clientAuth"] as const) {
      expect(b[key].publicKey.equals(a1[key].publicKey)).toBe(false);
    }
    // Nor is any of them the worker's own pseudonym or key.
    expect(a1.pseudonym).not.toBe(pseudonymOf(identity.signing.publicKey));
    expect(a1.pseudonym).toBe(pseudonymOf(a1.signing.publicKey));
  });

  it("derives working key pairs: the signing key signs, and its public half verifies", () => {
    const { signing } = deriveBoardIdentity(identity, BOARD_A);
    const message = Buffer.from("register");
    const signature = sign(null, message, privateKeyObject(signing));
    expect(verify(null, message, publicKeyObject("Ed25519", signing.publicKey), signature)).toBe(
      true,
    );
    // verifyEd25519 agrees, and says no (never throws) for anything malformed.
    const x = signing.publicKey.toString("base64url");
    const b64 = signature.toString("base64url");
    expect(verifyEd25519(x, message, b64)).toBe(true);
    expect(verifyEd25519(x, Buffer.from("other"), b64)).toBe(false);
    expect(verifyEd25519("short", message, b64)).toBe(false);
    expect(verifyEd25519(x, message, "!!")).toBe(false);
  });

  it("matches node's own key generation for the same secret (a second implementation)", () => {
    for (const curve of ["Ed25519", "X25519"] as const) {
      const generated = generateKeyPair(curve);
      expect(
        keyPairFromSecret(curve, generated.privateKey).publicKey.equals(generated.publicKey),
      ).toBe(true);
    }
  });

  it("refuses a board that is not a v3 onion address", () => {
    expect(() => deriveBoardIdentity(identity, `${BOARD_A}.onion`)).toThrow(
      /board: expected a v3 onion address/,
    );
  });
});

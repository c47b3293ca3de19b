import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hchacha20Vector, xchachaVector } from "../test/vectors.ts";
import { CryptoError, DECRYPT_FAILED_MESSAGE, DecryptError } from "./errors.ts";
import {
  hchacha20,
  xchachaDecrypt,
  xchachaDecryptReference,
  xchachaEncrypt,
  xchachaEncryptReference,
} from "./xchacha.ts";

describe("known answers (draft-irtf-cfrg-xchacha-03)", () => {
  it("§2.2.1: HChaCha20", () => {
    const v = hchacha20Vector();
    expect(hchacha20(v.key, v.input).toString("hex")).toBe(v.subkey.toString("hex"));
  });

  it("A.3.1: the plaintext is the sunscreen sentence", () => {
    expect(xchachaVector().plaintext.toString("utf8")).toMatch(/^Ladies and Gentlemen.*be it\.$/);
  });

  for (const [name, encrypt, decrypt] of [
    ["fast path", xchachaEncrypt, xchachaDecrypt],
    ["noble reference", xchachaEncryptReference, xchachaDecryptReference],
  ] as const) {
    it(`A.3.1: ${name} seals and opens the AEAD vector`, () => {
      const v = xchachaVector();
      const sealed = encrypt(v.key, v.nonce, v.plaintext, v.aad);
      expect(sealed.toString("hex")).toBe(Buffer.concat([v.ciphertext, v.tag]).toString("hex"));
      expect(decrypt(v.key, v.nonce, sealed, v.aad).equals(v.plaintext)).toBe(true);
    });
  }

  it("hchacha20 takes unaligned views", () => {
    const v = hchacha20Vector();
    const shifted = Buffer.concat([Buffer.of(7), v.key, v.input]);
    const out = hchacha20(shifted.subarray(1, 33), shifted.subarray(33));
    expect(out.equals(v.subkey)).toBe(true);
  });
});

describe("fast path against noble", () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

  it("gives byte-identical output, and each opens the other's", () => {
    fc.assert(
      fc.property(
        bytes(32),
        bytes(24),
        fc.option(fc.uint8Array({ maxLength: 100 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 5000 }),
        (key, nonce, aad, plaintext) => {
          const fast = xchachaEncrypt(key, nonce, plaintext, aad);
          const reference = xchachaEncryptReference(key, nonce, plaintext, aad);
          expect(fast.equals(reference)).toBe(true);
          expect(xchachaDecrypt(key, nonce, reference, aad).equals(plaintext)).toBe(true);
          expect(xchachaDecryptReference(key, nonce, fast, aad).equals(plaintext)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("agrees on messages longer than the fast path's 16 KiB update slices", () => {
    for (const size of [16383, 16384, 16385, 3 * 16384 + 7, 65536, 65536 + 16]) {
      const key = randomBytes(32);
      const nonce = randomBytes(24);
      const aad = randomBytes(size % 50);
      const plaintext = randomBytes(size);
      const fast = xchachaEncrypt(key, nonce, plaintext, aad);
      expect(fast.equals(xchachaEncryptReference(key, nonce, plaintext, aad))).toBe(true);
      expect(xchachaDecrypt(key, nonce, fast, aad).equals(plaintext)).toBe(true);
    }
  });

  it("an empty AAD is the same as none", () => {
    const key = randomBytes(32);
    const nonce = randomBytes(24);
    const sealed = xchachaEncrypt(key, nonce, Buffer.from("x"));
    expect(xchachaEncrypt(key, nonce, Buffer.from("x"), new Uint8Array()).equals(sealed)).toBe(
      true,
    );
  });
});

describe("decryption failures", () => {
  const key = randomBytes(32);
  const nonce = randomBytes(24);
  const aad = Buffer.from("aad");
  const sealed = xchachaEncrypt(key, nonce, Buffer.from("attack at dawn"), aad);

  function expectFailure(f: () => unknown) {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(DecryptError);
      expect((error as DecryptError).code).toBe("ERR_BUCKET_TAMPERED");
      expect((error as DecryptError).message).toBe(DECRYPT_FAILED_MESSAGE);
      return;
    }
    expect.fail("decryption succeeded");
  }

  it("rejects every single-bit flip, in both implementations", () => {
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = Buffer.from(sealed);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expectFailure(() => xchachaDecrypt(key, nonce, bad, aad));
      expectFailure(() => xchachaDecryptReference(key, nonce, bad, aad));
    }
  });

  it("rejects another key, nonce or AAD, and data shorter than a tag", () => {
    expectFailure(() => xchachaDecrypt(randomBytes(32), nonce, sealed, aad));
    expectFailure(() => xchachaDecrypt(key, randomBytes(24), sealed, aad));
    expectFailure(() => xchachaDecrypt(key, nonce, sealed, Buffer.from("aae")));
    expectFailure(() => xchachaDecrypt(key, nonce, sealed));
    expectFailure(() => xchachaDecrypt(key, nonce, sealed.subarray(0, 15), aad));
    expectFailure(() => xchachaDecryptReference(key, nonce, sealed.subarray(0, 15), aad));
  });
});

describe("argument checks", () => {
  const cases: [string, () => unknown, string][] = [
    [
      "short key",
      () => xchachaEncrypt(new Uint8Array(31), new Uint8Array(24), new Uint8Array()),
      "key: expected Uint8Array of length 32, got length=31",
    ],
    [
      "long nonce",
      () => xchachaDecrypt(new Uint8Array(32), new Uint8Array(25), new Uint8Array(16)),
      "nonce: expected Uint8Array of length 24, got length=25",
    ],
    [
      "string plaintext",
      () => xchachaEncrypt(new Uint8Array(32), new Uint8Array(24), "hi" as unknown as Uint8Array),
      "plaintext: expected Uint8Array, got string",
    ],
    [
      "null aad",
      () =>
        xchachaEncryptReference(
          new Uint8Array(32),
          new Uint8Array(24),
          new Uint8Array(),
          null as unknown as Uint8Array,
        ),
      "aad: expected Uint8Array, got null",
    ],
  ];
  for (const [name, call, message] of cases) {
    it(`${name}: ${message}`, () => {
      expect(call).toThrow(CryptoError);
      expect(call).toThrow(message);
      try {
        call();
      } catch (error) {
        expect((error as CryptoError).code).toBe("ERR_CRYPTO_ARGUMENT");
      }
    });
  }
});

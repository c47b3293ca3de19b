import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import {
  CompactSign,
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  type JWK,
  SignJWT,
} from "jose";
import { describe, expect, it } from "vitest";
import { GrantError } from "./errors.ts";
import { grantClaimsSchema } from "./grant.ts";
import { generateKeyPair, privateKeyObject, pseudonymOf } from "./keys.ts";
import {
  bearerToken,
  PROOF_TYP,
  ReplayCache,
  signRequest,
  verifyRequest,
} from "./request-proof.ts";

const worker = generateKeyPair("Ed25519");
const NOW = 1_800_000_000;
const JOB = "job_20261125101010_0001";
const grant = grantClaimsSchema.parse({
  iss: "host-1",
  aud: pseudonymOf(worker.publicKey),
  job: JOB,
  task: "m3",
  attempt: 0,
  read: [{ kind: "bucket", id: `j/${JOB}/split/3/0` }],
  write: [`j/${JOB}/m/3/0/`],
  maxBytes: 1000,
  jti: "grant-jti-1",
  iat: NOW,
  exp: NOW + 300,
});
const PATH = `/buckets/j/${JOB}/m/3/0/p1?length=12`;
const request = { method: "put", path: PATH, grantJti: grant.jti };
const expected = { method: "PUT", path: PATH, grant };
const fresh = () => ({ replayCache: new ReplayCache(), now: NOW });

async function refusal(
  proof: string | undefined,
  options = fresh(),
  exp = expected,
): Promise<GrantError> {
  const error = await verifyRequest(proof, exp, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GrantError);
  return error as GrantError;
}

/** A proof with a hand-made header, signed with `key` (whatever the header claims). */
function signWithHeader(
  header: Record<string, unknown>,
  key: Parameters<SignJWT["sign"]>[0],
  alg = "EdDSA",
) {
  return new SignJWT({ htm: "PUT", htp: PATH, gjti: grant.jti, jti: "n".repeat(22) })
    .setProtectedHeader({ alg, typ: PROOF_TYP, ...header })
    .setIssuedAt(NOW)
    .sign(key);
}
const workerJwk = { kty: "OKP", crv: "Ed25519", x: worker.publicKey.toString("base64url") };

describe("request proofs", () => {
  it("verify a worker's proof, with the method case-folded", async () => {
    const proof = await signRequest(worker, request, { now: NOW });
    expect(decodeProtectedHeader(proof)).toEqual({ alg: "EdDSA", typ: PROOF_TYP, jwk: workerJwk });
    expect(decodeJwt(proof)).toMatchObject({ htm: "PUT", htp: PATH, gjti: grant.jti, iat: NOW });
    await expect(
      verifyRequest(proof, { ...expected, method: "put" }, fresh()),
    ).resolves.toBeUndefined();
  });

  it("refuse a grant used by another worker", async () => {
    const proof = await signRequest(generateKeyPair("Ed25519"), request, { now: NOW });
    const error = await refusal(proof);
    expect(error).toMatchObject({ code: "ERR_GRANT_AUDIENCE", status: 401 });
    expect(error.message).toBe("request proof rejected: signed by another worker than the grant's");
  });

  it("refuse a proof that names the grant's worker but is signed by another key", async () => {
    const thief = generateKeyPair("Ed25519");
    const proof = await signWithHeader({ jwk: workerJwk }, privateKeyObject(thief));
    expect(await refusal(proof)).toMatchObject({
      code: "ERR_PROOF_INVALID",
      message: "request proof rejected: bad signature",
    });
  });

  it.each([
    ["method", { method: "GET" }, "method does not match"],
    ["path", { path: `/buckets/j/${JOB}/m/3/0/p2?length=12` }, "path does not match"],
    ["query", { path: `/buckets/j/${JOB}/m/3/0/p1?length=13` }, "path does not match"],
    ["grant jti", { grant: { ...grant, jti: "grant-jti-2" } }, "grant does not match"],
  ])("refuse a proof for another %s", async (_, change, what) => {
    const proof = await signRequest(worker, request, { now: NOW });
    const error = await refusal(proof, fresh(), { ...expected, ...change });
    expect(error).toMatchObject({
      code: "ERR_PROOF_INVALID",
      message: `request proof rejected: ${what}`,
    });
  });

  it("refuse the same proof twice", async () => {
    const options = fresh();
    const proof = await signRequest(worker, request, { now: NOW });
    await verifyRequest(proof, expected, options);
    const error = await refusal(proof, { ...options, now: NOW + 30 });
    expect(error).toMatchObject({
      code: "ERR_PROOF_REPLAYED",
      message: "request proof rejected: replayed",
    });
    // A second proof for the same request is fine: only nonces are single-use.
    await verifyRequest(await signRequest(worker, request, { now: NOW }), expected, options);
  });

  it("refuse proofs outside the window, either side", async () => {
    const proof = await signRequest(worker, request, { now: NOW });
    for (const now of [NOW - 61, NOW + 61, NOW + 3600]) {
      expect(await refusal(proof, { replayCache: new ReplayCache(), now })).toMatchObject({
        code: "ERR_PROOF_REPLAYED",
        message: "request proof rejected: outside the replay window",
      });
    }
    for (const now of [NOW - 60, NOW + 60]) {
      await expect(
        verifyRequest(proof, expected, { replayCache: new ReplayCache(), now }),
      ).resolves.toBeUndefined();
    }
    const narrow = { replayCache: new ReplayCache(), now: NOW + 11, windowSeconds: 10 };
    expect(await refusal(proof, narrow)).toMatchObject({ code: "ERR_PROOF_REPLAYED" });
  });

  it("refuse a jwk with a private part, or of another key type", async () => {
    const d = worker.privateKey.toString("base64url");
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const x25519 = generateKeyPair("X25519");
    const cases = [
      await signWithHeader({ jwk: { ...workerJwk, d } }, privateKeyObject(worker)),
      await signWithHeader({ jwk: { ...workerJwk, kid: "k" } }, privateKeyObject(worker)),
      await signWithHeader(
        { jwk: { ...workerJwk, crv: "X25519", x: x25519.publicKey.toString("base64url") } },
        privateKeyObject(worker),
      ),
      await signWithHeader({ jwk: ec.publicKey.export({ format: "jwk" }) }, ec.privateKey, "ES256"),
      await signWithHeader(
        { jwk: ec.publicKey.export({ format: "jwk" }) },
        privateKeyObject(worker),
      ),
      await signWithHeader(
        { jwk: rsa.publicKey.export({ format: "jwk" }) },
        rsa.privateKey,
        "RS256",
      ),
      await signWithHeader(
        { jwk: { ...workerJwk, x: `${workerJwk.x}A` } },
        privateKeyObject(worker),
      ),
      await signWithHeader({}, privateKeyObject(worker)),
    ];
    const messages = [];
    for (const proof of cases) {
      const error = await refusal(proof);
      expect(error.code).toBe("ERR_PROOF_INVALID");
      messages.push(error.message);
      expect(error.message).not.toContain(d);
    }
    expect(messages).toEqual([
      ...Array(3).fill("request proof rejected: jwk is not a public Ed25519 key"),
      "request proof rejected: algorithm not allowed",
      "request proof rejected: jwk is not a public Ed25519 key",
      "request proof rejected: algorithm not allowed",
      ...Array(2).fill("request proof rejected: jwk is not a public Ed25519 key"),
    ]);
  });

  it.each([
    [undefined, "missing"],
    ["", "missing"],
    ["garbage", "malformed"],
    ["a.b.c", "malformed"],
    ["x".repeat(10_000), "malformed"],
  ])("refuse a malformed proof %j", async (proof, what) => {
    expect(await refusal(proof)).toMatchObject({
      code: "ERR_PROOF_INVALID",
      message: `request proof rejected: ${what}`,
    });
  });

  it("refuse a proof of another typ, or with bad claims", async () => {
    const key = privateKeyObject(worker);
    const jws = (header: Record<string, unknown>, payload: unknown) =>
      new CompactSign(Buffer.from(JSON.stringify(payload)))
        .setProtectedHeader({ alg: "EdDSA", ...header })
        .sign(key);
    const good = { htm: "PUT", htp: PATH, gjti: grant.jti, iat: NOW, jti: "n".repeat(22) };
    const cases: [Record<string, unknown>, unknown, string][] = [
      [{ typ: "tormr-grant+jwt", jwk: workerJwk }, good, 'unexpected "typ"'],
      [{ typ: PROOF_TYP, jwk: workerJwk, kid: "k" }, good, "unexpected header"],
      [{ typ: PROOF_TYP, jwk: workerJwk }, { ...good, jti: "short" }, 'invalid claim "jti"'],
      [{ typ: PROOF_TYP, jwk: workerJwk }, { ...good, iat: "now" }, 'invalid claim "iat"'],
      [{ typ: PROOF_TYP, jwk: workerJwk }, { ...good, htm: undefined }, 'invalid claim "htm"'],
      [{ typ: PROOF_TYP, jwk: workerJwk }, { ...good, exp: NOW + 1 }, 'invalid claim "(payload)"'],
      [{ typ: PROOF_TYP, jwk: workerJwk }, [good], 'invalid claim "(payload)"'],
    ];
    for (const [header, payload, what] of cases) {
      const error = await refusal(await jws(header, payload));
      expect(error).toMatchObject({
        code: "ERR_PROOF_INVALID",
        message: `request proof rejected: ${what}`,
      });
    }
    await expect(
      verifyRequest(await jws({ typ: PROOF_TYP, jwk: workerJwk }, good), expected, fresh()),
    ).resolves.toBeUndefined();
  });
});

describe("ReplayCache", () => {
  it("refuse new nonces when full, and take them again once old ones expire", () => {
    const cache = new ReplayCache({ maxEntries: 2 });
    expect(cache.remember("a", 100, 50)).toBe("fresh");
    expect(cache.remember("b", 90, 50)).toBe("fresh");
    expect(cache.remember("c", 100, 50)).toBe("full");
    expect(cache.remember("a", 100, 60)).toBe("replayed");
    expect(cache.remember("c", 120, 91)).toBe("fresh");
    expect(cache.remember("a", 130, 100)).toBe("replayed");
    expect(cache.remember("a", 130, 101)).toBe("fresh");
    expect(cache.size).toBe(2);
  });

  it("refuse a proof with ERR_PROOF_REPLAYED when full", async () => {
    const options = { replayCache: new ReplayCache({ maxEntries: 1 }), now: NOW };
    await verifyRequest(await signRequest(worker, request, { now: NOW }), expected, options);
    const error = await refusal(await signRequest(worker, request, { now: NOW }), options);
    expect(error).toMatchObject({
      code: "ERR_PROOF_REPLAYED",
      message: "request proof rejected: too many recent requests",
    });
    const later = { ...options, now: NOW + 61 };
    await verifyRequest(await signRequest(worker, request, { now: NOW + 61 }), expected, later);
    expect(options.replayCache.size).toBe(1);
  });

  it("stay bounded under a flood of distinct nonces", () => {
    const cache = new ReplayCache({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++)
      cache.remember(`n${i}`, Math.floor(i / 10) + 60, Math.floor(i / 10));
    expect(cache.size).toBeLessThanOrEqual(100);
  });
});

describe("pseudonyms and headers", () => {
  it("match jose's RFC 7638 thumbprint for any Ed25519 public key", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (x) => {
        const jwk: JWK = { kty: "OKP", crv: "Ed25519", x: Buffer.from(x).toString("base64url") };
        expect(pseudonymOf(x)).toBe(await calculateJwkThumbprint(jwk, "sha256"));
      }),
    );
    for (let i = 0; i < 20; i++) {
      const pair = generateKeyPair("Ed25519");
      const jwk = { kty: "OKP", crv: "Ed25519", x: pair.publicKey.toString("base64url") };
      expect(pseudonymOf(pair.publicKey)).toBe(await calculateJwkThumbprint(jwk));
    }
  });

  it("read the grant from a Bearer authorization header", () => {
    expect(bearerToken("Bearer a.b.c")).toBe("a.b.c");
    expect(bearerToken("bearer  a.b.c")).toBe("a.b.c");
    expect(bearerToken("Basic a.b.c")).toBeUndefined();
    expect(bearerToken("Bearer ")).toBeUndefined();
    expect(bearerToken("Bearer a b")).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

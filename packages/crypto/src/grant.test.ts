import { createSecretKey } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { mapOutputId, mapOutputPrefix, reduceOutputPrefix } from "./bucket-id.ts";
import { CryptoError, GrantError } from "./errors.ts";
import {
  canRead,
  canWrite,
  checkRead,
  checkWrite,
  type GrantClaims,
  grantClaimsSchema,
  issueGrant,
  verifyGrant,
} from "./grant.ts";
import { generateKeyPair, privateKeyObject, pseudonymOf } from "./keys.ts";

const host = generateKeyPair("Ed25519");
const worker = generateKeyPair("Ed25519");
const JOB = "job_20261125101010_0001";
const NOW = 1_800_000_000;
const ISSUER = "host-1";

const reducerClaims = {
  iss: ISSUER,
  aud: pseudonymOf(worker.publicKey),
  job: JOB,
  task: "r0",
  attempt: 1,
  read: [{ kind: "map-partition" as const, job: JOB, partition: 0 }],
  write: [reduceOutputPrefix(JOB, 0, 1)],
  maxBytes: 1 << 20,
};
const verifyOptions = { issuer: ISSUER, job: JOB, now: NOW + 10 };

/** A token signed with the host's key but carrying whatever header and payload a test wants. */
function signRaw(payload: Record<string, unknown>, typ: string | null = "tormr-grant+jwt") {
  return new SignJWT(payload)
    .setProtectedHeader(typ === null ? { alg: "EdDSA" } : { alg: "EdDSA", typ })
    .sign(privateKeyObject(host));
}

const fullClaims = { ...reducerClaims, jti: "grant-1", iat: NOW, exp: NOW + 300 };

describe("issueGrant / verifyGrant", () => {
  it("round-trip the claims", async () => {
    const token = await issueGrant(host, reducerClaims, { now: NOW });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", typ: "tormr-grant+jwt" });
    const claims = await verifyGrant(token, host.publicKey, verifyOptions);
    expect(claims).toEqual({ ...reducerClaims, jti: claims.jti, iat: NOW, exp: NOW + 300 });
    expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("keep a given jti and ttl, and draw a fresh jti otherwise", async () => {
    const token = await issueGrant(
      host,
      { ...reducerClaims, jti: "abc" },
      { now: NOW, ttlSeconds: 60 },
    );
    expect(decodeJwt(token)).toMatchObject({ jti: "abc", iat: NOW, exp: NOW + 60 });
    const a = decodeJwt(await issueGrant(host, reducerClaims));
    const b = decodeJwt(await issueGrant(host, reducerClaims));
    expect(a.jti).not.toBe(b.jti);
  });

  it("accept a grant until it expires, then refuse it", async () => {
    const token = await issueGrant(host, reducerClaims, { now: NOW });
    await expect(
      verifyGrant(token, host.publicKey, { ...verifyOptions, now: NOW + 299 }),
    ).resolves.toBeDefined();
    for (const now of [NOW + 300, NOW + 10_000]) {
      await expect(
        verifyGrant(token, host.publicKey, { ...verifyOptions, now }),
      ).rejects.toMatchObject({
        code: "ERR_GRANT_EXPIRED",
        message: "grant rejected: expired",
        status: 401,
      });
    }
    const tolerant = { ...verifyOptions, now: NOW + 305, clockToleranceSeconds: 10 };
    await expect(verifyGrant(token, host.publicKey, tolerant)).resolves.toBeDefined();
  });

  it("refuse a grant signed by another key", async () => {
    const token = await issueGrant(generateKeyPair("Ed25519"), reducerClaims, { now: NOW });
    await expect(verifyGrant(token, host.publicKey, verifyOptions)).rejects.toMatchObject({
      code: "ERR_GRANT_INVALID",
      message: "grant rejected: bad signature",
    });
  });

  it("refuse a grant whose payload was tampered with", async () => {
    const [header, payload, signature] = (
      await issueGrant(host, reducerClaims, { now: NOW })
    ).split(".");
    const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as GrantClaims;
    const wider = { ...claims, write: [`j/${JOB}/`, `j/${JOB}/r/`], maxBytes: 2 ** 40 };
    const forged = `${header}.${Buffer.from(JSON.stringify(wider)).toString("base64url")}.${signature}`;
    const error = await verifyGrant(forged, host.publicKey, verifyOptions).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GrantError);
    expect(error).toMatchObject({
      code: "ERR_GRANT_INVALID",
      message: "grant rejected: bad signature",
    });
    expect((error as Error).message).not.toContain(
      Buffer.from(host.publicKey).toString("base64url"),
    );
  });

  it("refuse a grant from another issuer or for another job", async () => {
    const token = await issueGrant(host, reducerClaims, { now: NOW });
    await expect(
      verifyGrant(token, host.publicKey, { ...verifyOptions, issuer: "host-2" }),
    ).rejects.toMatchObject({
      code: "ERR_GRANT_INVALID",
      message: 'grant rejected: unexpected "iss"',
    });
    const otherJob = { ...verifyOptions, job: "job_20261125101010_0002" };
    await expect(verifyGrant(token, host.publicKey, otherJob)).rejects.toMatchObject({
      code: "ERR_GRANT_JOB",
      message: "grant rejected: issued for another job",
      status: 403,
    });
  });

  it("refuse a revoked grant, asking with its jti", async () => {
    const token = await issueGrant(host, { ...reducerClaims, jti: "g-7" }, { now: NOW });
    const asked: string[] = [];
    const isRevoked = async (jti: string) => {
      asked.push(jti);
      return jti === "g-7";
    };
    await expect(
      verifyGrant(token, host.publicKey, { ...verifyOptions, isRevoked }),
    ).rejects.toMatchObject({
      code: "ERR_GRANT_REVOKED",
      message: "grant rejected: revoked",
    });
    expect(asked).toEqual(["g-7"]);
    const notRevoked = { ...verifyOptions, isRevoked: () => false };
    await expect(verifyGrant(token, host.publicKey, notRevoked)).resolves.toBeDefined();
  });

  it.each([
    [undefined, "ERR_GRANT_MISSING", "grant rejected: missing"],
    ["", "ERR_GRANT_MISSING", "grant rejected: missing"],
    ["garbage", "ERR_GRANT_MISSING", "grant rejected: malformed"],
    ["Bearer a.b.c", "ERR_GRANT_MISSING", "grant rejected: malformed"],
    ["a.b.c", "ERR_GRANT_MISSING", "grant rejected: malformed"],
    ["a.b.c.d.e", "ERR_GRANT_MISSING", "grant rejected: malformed"],
  ])("refuse a malformed token %j", async (token, code, message) => {
    await expect(verifyGrant(token, host.publicKey, verifyOptions)).rejects.toMatchObject({
      code,
      message,
    });
  });

  it("refuse unsigned (alg none) and HMAC-signed tokens", async () => {
    const none = new UnsecuredJWT(fullClaims).encode();
    const hs256 = await new SignJWT(fullClaims)
      .setProtectedHeader({ alg: "HS256", typ: "tormr-grant+jwt" })
      .sign(new Uint8Array(32));
    // Algorithm confusion: the host's public key used as an HMAC secret.
    const confused = await new SignJWT(fullClaims)
      .setProtectedHeader({ alg: "HS256", typ: "tormr-grant+jwt" })
      .sign(createSecretKey(host.publicKey));
    for (const token of [none, hs256, confused]) {
      await expect(verifyGrant(token, host.publicKey, verifyOptions)).rejects.toMatchObject({
        code: "ERR_GRANT_INVALID",
        message: "grant rejected: algorithm not allowed",
      });
    }
  });

  it("refuse a host-signed token of another type", async () => {
    for (const typ of [null, "JWT", "tormr-pop+jwt"]) {
      const token = await signRaw(fullClaims, typ);
      await expect(verifyGrant(token, host.publicKey, verifyOptions)).rejects.toMatchObject({
        code: "ERR_GRANT_INVALID",
        message: 'grant rejected: unexpected "typ"',
      });
    }
  });

  it.each([
    ["attempt", { attempt: -1 }],
    ["maxBytes", { maxBytes: 1.5 }],
    ["aud", { aud: ["a", "b"] }],
    ["write.0", { write: [`j/${JOB}/r/0/1`] }],
    ["write.1", { write: [`j/${JOB}/r/0/1/`, "j/job_other/r/0/1/"] }],
    ["write.0", { write: [`j/${JOB}/`] }],
    ["write.0", { write: [`j/${JOB}/../x/`] }],
    ["read.0.id", { read: [{ kind: "bucket", id: "../etc/passwd" }] }],
    ["read.0.kind", { read: [{ kind: "everything" }] }],
    ["read.0.job", { read: [{ kind: "map-partition", job: "a/b", partition: 0 }] }],
    ["maxBytes", { maxBytes: undefined }],
    ["exp", { iat: NOW + 400 }],
  ])("refuse a host-signed grant with a bad %s claim", async (field, change) => {
    const token = await signRaw({ ...fullClaims, ...change });
    await expect(verifyGrant(token, host.publicKey, verifyOptions)).rejects.toMatchObject({
      code: "ERR_GRANT_INVALID",
      message: `grant rejected: invalid claim "${field}"`,
    });
  });

  it("refuse to issue malformed claims or with a non-Ed25519 key", async () => {
    const bad = { ...reducerClaims, write: [`j/${JOB}/r/0/1`] };
    await expect(issueGrant(host, bad)).rejects.toThrow(
      new CryptoError(
        "ERR_CRYPTO_ARGUMENT",
        `grant claim "write.0": expected a bucket id followed by '/'`,
      ),
    );
    const otherJob = { ...reducerClaims, write: ["j/job_x/r/0/1/"] };
    await expect(issueGrant(host, otherJob)).rejects.toThrow(
      `grant claim "write.0": expected a prefix below 'j/${JOB}/'`,
    );
    await expect(issueGrant(generateKeyPair("X25519"), reducerClaims)).rejects.toMatchObject({
      code: "ERR_CRYPTO_ARGUMENT",
      message: "grant signer: expected Ed25519, got X25519",
    });
    await expect(issueGrant(host, reducerClaims, { ttlSeconds: 0 })).rejects.toThrow(
      "ttlSeconds: expected a positive integer, got 0",
    );
  });
});

describe("grant scopes", () => {
  const committed = new Set(["3/0", "4/2"]);
  const isCommitted = (job: string, map: number, attempt: number) =>
    job === JOB && committed.has(`${map}/${attempt}`);
  const claims = (patch: Partial<GrantClaims>): GrantClaims =>
    grantClaimsSchema.parse({ ...fullClaims, read: [], write: [], ...patch });

  it("read a bucket named exactly, and no other", () => {
    const split = `j/${JOB}/split/3/0`;
    const grant = claims({ task: "m3", read: [{ kind: "bucket", id: split }] });
    expect(canRead(grant, split, isCommitted)).toBe(true);
    expect(canRead(grant, `j/${JOB}/split/3/1`, isCommitted)).toBe(false);
    expect(canRead(grant, `j/${JOB}/split/3`, isCommitted)).toBe(false);
    expect(canRead(grant, `${split}/x`, isCommitted)).toBe(false);
    expect(() => checkRead(grant, split, isCommitted)).not.toThrow();
    expect(() => checkRead(grant, `j/${JOB}/split/4/0`, isCommitted)).toThrow(
      new GrantError(
        "ERR_GRANT_SCOPE",
        `grant for task "m3" may not read bucket "j/${JOB}/split/4/0"`,
      ),
    );
  });

  it("read a map-partition: its partition of committed map outputs only", () => {
    const grant = claims({ read: [{ kind: "map-partition", job: JOB, partition: 1 }] });
    expect(canRead(grant, mapOutputId(JOB, 3, 0, 1), isCommitted)).toBe(true);
    expect(canRead(grant, mapOutputId(JOB, 4, 2, 1), isCommitted)).toBe(true);
    expect(canRead(grant, mapOutputId(JOB, 3, 1, 1), isCommitted)).toBe(false);
    expect(canRead(grant, mapOutputId(JOB, 3, 0, 0), isCommitted)).toBe(false);
    expect(canRead(grant, mapOutputId(JOB, 3, 0, 10), isCommitted)).toBe(false);
    expect(canRead(grant, mapOutputId("job_other", 3, 0, 1), () => true)).toBe(false);
    expect(canRead(grant, `j/${JOB}/m/3/0/out`, () => true)).toBe(false);
    expect(canRead(grant, `j/${JOB}/m/3/00/p1`, () => true)).toBe(false);
    let error: unknown;
    try {
      checkRead(grant, mapOutputId(JOB, 3, 1, 1), isCommitted);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: "ERR_GRANT_SCOPE", status: 403 });
  });

  it("write within a prefix only", () => {
    const grant = claims({ task: "m3", write: [mapOutputPrefix(JOB, 3, 0)] });
    expect(canWrite(grant, mapOutputId(JOB, 3, 0, 0))).toBe(true);
    expect(canWrite(grant, `j/${JOB}/m/3/0/out`)).toBe(true);
    expect(canWrite(grant, mapOutputId(JOB, 3, 1, 0))).toBe(false);
    expect(canWrite(grant, `j/${JOB}/m/3/01/p0`)).toBe(false);
    expect(canWrite(grant, `j/${JOB}/m/3/0`)).toBe(false);
    expect(canWrite(grant, `j/${JOB}/m/3/0/`)).toBe(false);
    expect(canWrite(grant, `j/${JOB}/m/3/0/../1/p0`)).toBe(false);
    expect(canWrite(grant, `j/${JOB}/m/3/0/./p0`)).toBe(false);
    expect(canWrite(grant, `j/${JOB}/m/3/0//p0`)).toBe(false);
    expect(() => checkWrite(grant, mapOutputId(JOB, 3, 0, 2))).not.toThrow();
    expect(() => checkWrite(grant, `j/${JOB}/m/3/0/../1/p0`)).toThrow(
      `grant for task "m3" may not write bucket "j/${JOB}/m/3/0/../1/p0"`,
    );
  });

  it("refuse everything to a grant with no scopes", () => {
    const grant = claims({});
    expect(canRead(grant, mapOutputId(JOB, 3, 0, 1), () => true)).toBe(false);
    expect(canWrite(grant, mapOutputId(JOB, 3, 0, 1))).toBe(false);
  });
});

// The bucket store refuses every forged, stolen, stale, replayed or out-of-scope request, each with its code.
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { generateKeyPair, pseudonymOf } from "@tormr/crypto/keys";
import { signRequest } from "@tormr/crypto/request-proof";
import { bucketPath, HEADERS } from "@tormr/protocol/store-api";
import { grantJti } from "@tormr/protocol/store-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunksOf, collect, JOB, startStore, type TestStore } from "./store-helpers.ts";

const worker = generateKeyPair("Ed25519");
const thief = generateKeyPair("Ed25519");
const data = randomBytes(50_000);
const SPLIT = `j/${JOB}/split/0/0`;
let t: TestStore;

beforeAll(async () => {
  t = await startStore();
  await t.store.put(SPLIT, chunksOf(data), 1 << 20, {
    pseudonym: "host",
    task: "m0",
    attempt: 0,
    records: 10,
  });
});
afterAll(() => t.close());

const readGrant = (claims = {}, options = {}) =>
  t.grant(worker, { read: [{ kind: "bucket", id: SPLIT }], ...claims }, options);

describe("grants", () => {
  it("a worker with a grant for the bucket reads it", async () => {
    const body = await collect(t.client(worker).download(await readGrant(), SPLIT));
    expect(body.equals(data)).toBe(true);
  });

  it("HEAD tells a grant holder the bucket's size, records and digest, without its bytes", async () => {
    const info = await t.client(worker).head(await readGrant(), SPLIT);
    expect(info).toEqual(await t.store.info(SPLIT));
    expect(info).toMatchObject({ size: data.length, records: 10 });
  });

  it("refuses a request without a grant", async () => {
    const res = await raw("GET", bucketPath(SPLIT), {});
    expect(res).toMatchObject({ status: 401, body: { code: "ERR_GRANT_MISSING" } });
  });

  it("refuses a grant signed by another key (forged signature)", async () => {
    const forged = await readGrant({}, { signer: generateKeyPair("Ed25519") });
    await expect(collect(t.client(worker).download(forged, SPLIT))).rejects.toMatchObject({
      status: 401,
      code: "ERR_GRANT_INVALID",
    });
  });

  it("refuses a grant whose payload was edited", async () => {
    const [header, payload, signature] = (await readGrant()).split(".");
    const claims = JSON.parse(Buffer.from(payload as string, "base64url").toString());
    claims.maxBytes = 1 << 30;
    const edited = [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature];
    await expect(collect(t.client(worker).download(edited.join("."), SPLIT))).rejects.toMatchObject(
      { status: 401, code: "ERR_GRANT_INVALID" },
    );
  });

  it("refuses an expired grant", async () => {
    const old = await readGrant({}, { now: Math.floor(Date.now() / 1000) - 600, ttlSeconds: 60 });
    await expect(collect(t.client(worker).download(old, SPLIT))).rejects.toMatchObject({
      status: 401,
      code: "ERR_GRANT_EXPIRED",
    });
  });

  it("refuses a grant used by another worker (wrong proof-of-possession key)", async () => {
    const stolen = await readGrant();
    await expect(collect(t.client(thief).download(stolen, SPLIT))).rejects.toMatchObject({
      status: 401,
      code: "ERR_GRANT_AUDIENCE",
    });
  });

  it("refuses a read outside the grant's scope", async () => {
    const other = `j/${JOB}/split/1/0`;
    await t.store.put(other, chunksOf(Buffer.from("x\n")), 100, {
      pseudonym: "host",
      task: "m1",
      attempt: 0,
      records: 1,
    });
    await expect(
      collect(t.client(worker).download(await readGrant(), other)),
    ).rejects.toMatchObject({ status: 403, code: "ERR_GRANT_SCOPE" });
  });

  it("refuses a write outside the grant's scope", async () => {
    const grant = await t.grant(worker, { write: [`j/${JOB}/m/0/0/`] });
    await expect(
      t.client(worker).put(grant, `j/${JOB}/m/0/1/p0`, chunksOf(data), { records: 1 }),
    ).rejects.toMatchObject({ status: 403, code: "ERR_GRANT_SCOPE" });
    expect(await t.store.info(`j/${JOB}/m/0/1/p0`)).toBeUndefined();
  });

  it("refuses a grant replayed after its revocation", async () => {
    const grant = await readGrant();
    const client = t.client(worker);
    await collect(client.download(grant, SPLIT));
    const claims = JSON.parse(Buffer.from(grant.split(".")[1] as string, "base64url").toString());
    await t.store.revoke(claims, "attempt finished");
    await expect(collect(client.download(grant, SPLIT))).rejects.toMatchObject({
      status: 401,
      code: "ERR_GRANT_REVOKED",
    });
  });

  it("refuses a grant from another job", async () => {
    const grant = await readGrant({ job: "job_other_0002", read: [{ kind: "bucket", id: SPLIT }] });
    await expect(collect(t.client(worker).download(grant, SPLIT))).rejects.toMatchObject({
      status: 403,
      code: "ERR_GRANT_JOB",
    });
  });

  it("refuses a request signature replayed outside its window", async () => {
    const grant = await readGrant();
    const path = bucketPath(SPLIT);
    const stale = await signRequest(
      worker,
      { method: "GET", path, grantJti: grantJti(grant) },
      { now: Math.floor(Date.now() / 1000) - 300 },
    );
    const res = await raw("GET", path, {
      authorization: `Bearer ${grant}`,
      [HEADERS.proof]: stale,
    });
    expect(res).toMatchObject({ status: 401, body: { code: "ERR_PROOF_REPLAYED" } });
  });

  it("refuses the same request signature twice, even inside its window", async () => {
    const grant = await readGrant();
    const path = bucketPath(SPLIT);
    const proof = await signRequest(worker, { method: "GET", path, grantJti: grantJti(grant) });
    const headers = { authorization: `Bearer ${grant}`, [HEADERS.proof]: proof };
    expect((await raw("GET", path, headers)).status).toBe(200);
    expect(await raw("GET", path, headers)).toMatchObject({
      status: 401,
      body: { code: "ERR_PROOF_REPLAYED" },
    });
  });

  it("refuses a signature made for another path", async () => {
    const grant = await readGrant();
    const proof = await signRequest(worker, {
      method: "GET",
      path: bucketPath(`j/${JOB}/split/1/0`),
      grantJti: grantJti(grant),
    });
    const res = await raw("GET", bucketPath(SPLIT), {
      authorization: `Bearer ${grant}`,
      [HEADERS.proof]: proof,
    });
    expect(res).toMatchObject({ status: 401, body: { code: "ERR_PROOF_INVALID" } });
  });

  it("a reduce grant reads partition r of committed map outputs only", async () => {
    const mapper = generateKeyPair("Ed25519");
    const writes = await t.grant(mapper, { task: "m5", write: [`j/${JOB}/m/5/0/`] });
    const retry = await t.grant(mapper, { task: "m5", attempt: 1, write: [`j/${JOB}/m/5/1/`] });
    for (const p of [0, 1]) {
      await t.client(mapper).put(writes, `j/${JOB}/m/5/0/p${p}`, chunksOf(data), { records: 3 });
    }
    await t.client(mapper).put(retry, `j/${JOB}/m/5/1/p0`, chunksOf(data), { records: 3 });
    const reducer = t.client(worker);
    const grant = await t.grant(worker, {
      task: "r0",
      read: [{ kind: "map-partition", job: JOB, partition: 0 }],
    });
    // Not committed yet: nobody may read it.
    await expect(collect(reducer.download(grant, `j/${JOB}/m/5/0/p0`))).rejects.toMatchObject({
      code: "ERR_GRANT_SCOPE",
    });
    expect(await t.store.commit(JOB, "m5", 0)).toBe(0);
    // A second commit (a speculative attempt finishing later) does not replace the winner.
    expect(await t.store.commit(JOB, "m5", 1)).toBe(0);
    expect((await collect(reducer.download(grant, `j/${JOB}/m/5/0/p0`))).equals(data)).toBe(true);
    for (const id of [`j/${JOB}/m/5/0/p1`, `j/${JOB}/m/5/1/p0`]) {
      await expect(collect(reducer.download(grant, id))).rejects.toMatchObject({
        status: 403,
        code: "ERR_GRANT_SCOPE",
      });
    }
  });

  it("records every read in the exposure ledger under the reader's pseudonym", async () => {
    const reader = generateKeyPair("Ed25519");
    const grant = await t.grant(reader, { read: [{ kind: "bucket", id: SPLIT }] });
    await collect(t.client(reader).download(grant, SPLIT));
    await expect
      .poll(() => t.db.exposure.findMany({ where: { pseudonym: pseudonymOf(reader.publicKey) } }))
      .toMatchObject([{ bucket: SPLIT, bytes: BigInt(data.length), records: 10, job: JOB }]);
  });
});

/** A hand-made request, for what the client would never send. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, t.baseUrl), { method, headers }, async (res) => {
      const text = (await collect(res)).toString();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {}
      resolve({ status: res.statusCode ?? 0, body });
    });
    req.on("error", reject);
    req.end();
  });
}

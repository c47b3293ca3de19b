// The bucket store's disk and transport cases: bad ids, size limits, duplicates, dropped uploads, resumed downloads, a full disk.
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@tormr/crypto/keys";
import { signRequest } from "@tormr/crypto/request-proof";
import { bucketPath, HEADERS } from "@tormr/protocol/store-api";
import { grantJti, StoreClient } from "@tormr/protocol/store-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunksOf, collect, JOB, startStore, type TestStore } from "./store-helpers.ts";

const worker = generateKeyPair("Ed25519");
const PREFIX = `j/${JOB}/m/0/0/`;
let t: TestStore;

beforeAll(async () => {
  t = await startStore();
});
afterAll(() => t.close());

const writeGrant = (maxBytes = 1 << 20) => t.grant(worker, { write: [PREFIX], maxBytes });

/** Every file left in the store's folders: nothing half-written may remain after a failed upload. */
function storedFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  return walk(t.store.files.root);
}

describe("bucket ids", () => {
  for (const id of [`j/${JOB}/../../etc/passwd`, `j/${JOB}/m/./x`, `j/${JOB}//x`, "j/%2e%2e/x"]) {
    it(`refuses ${id} with 400`, async () => {
      const grant = await writeGrant();
      const path = bucketPath(id);
      const proof = await signRequest(worker, { method: "PUT", path, grantJti: grantJti(grant) });
      const res = await rawPut(path, { authorization: `Bearer ${grant}`, [HEADERS.proof]: proof });
      expect(res).toMatchObject({ status: 400, body: { code: "ERR_BAD_BUCKET_ID" } });
    });
  }
});

describe("uploads", () => {
  it("stores a bucket once: a second write of the same id is 409", async () => {
    const id = `${PREFIX}p0`;
    const data = randomBytes(10_000);
    const info = await t.client(worker).put(await writeGrant(), id, chunksOf(data), {
      records: 7,
      length: data.length,
    });
    expect(info).toEqual({
      id,
      size: data.length,
      records: 7,
      digest: createHash("sha256").update(data).digest("hex"),
    });
    await expect(
      t.client(worker).put(await writeGrant(), id, chunksOf(randomBytes(10)), { records: 1 }),
    ).rejects.toMatchObject({ status: 409, code: "ERR_BUCKET_EXISTS" });
    expect((await t.store.info(id))?.digest).toBe(info.digest);
  });

  it("refuses an oversized upload with 413 before the body when its length is known", async () => {
    await expect(
      t.client(worker).put(await writeGrant(1000), `${PREFIX}p1`, chunksOf(randomBytes(2000)), {
        records: 1,
        length: 2000,
      }),
    ).rejects.toMatchObject({ status: 413, code: "ERR_TOO_LARGE" });
    expect(await t.store.info(`${PREFIX}p1`)).toBeUndefined();
  });

  it("stops a chunked upload at the grant's limit with 413 and keeps nothing of it", async () => {
    const before = storedFiles();
    await expect(
      t
        .client(worker)
        .put(await writeGrant(100_000), `${PREFIX}p2`, chunksOf(randomBytes(1 << 20)), {
          records: 1,
        }),
    ).rejects.toMatchObject({ status: 413, code: "ERR_TOO_LARGE" });
    expect(await t.store.info(`${PREFIX}p2`)).toBeUndefined();
    expect(storedFiles()).toEqual(before);
  });

  it("counts maxBytes over every bucket of the grant, not each one", async () => {
    const grant = await writeGrant(15_000);
    const client = t.client(worker);
    await client.put(grant, `${PREFIX}p3`, chunksOf(randomBytes(10_000)), { records: 1 });
    await expect(
      client.put(grant, `${PREFIX}p4`, chunksOf(randomBytes(10_000)), { records: 1 }),
    ).rejects.toMatchObject({ status: 413 });
  });

  it("shares maxBytes between uploads running side by side under one grant", async () => {
    const grant = await writeGrant(15_000);
    const client = t.client(worker);
    const results = await Promise.allSettled(
      ["p8", "p9"].map((p) =>
        client.put(grant, `${PREFIX}${p}`, chunksOf(randomBytes(10_000)), { records: 1 }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: { status: 413 } });
  });

  it("keeps nothing of an upload whose client disconnects mid-way", async () => {
    const before = storedFiles();
    const grant = await writeGrant();
    const id = `${PREFIX}p5`;
    const path = bucketPath(id);
    const proof = await signRequest(worker, { method: "PUT", path, grantJti: grantJti(grant) });
    const req = request(new URL(path, t.baseUrl), {
      method: "PUT",
      headers: { authorization: `Bearer ${grant}`, [HEADERS.proof]: proof, [HEADERS.records]: "1" },
    });
    req.on("error", () => {});
    req.write(randomBytes(200_000));
    await new Promise((resolve) => setTimeout(resolve, 200));
    req.destroy();
    await expect.poll(() => storedFiles()).toEqual(before);
    expect(await t.store.info(id)).toBeUndefined();
  });

  it("drops an upload that goes silent, and keeps nothing of it", async () => {
    const quiet = await startStore({ idleTimeoutMs: 300 });
    try {
      const grant = await quiet.grant(worker, { write: [PREFIX] });
      const path = bucketPath(`${PREFIX}p7`);
      const proof = await signRequest(worker, { method: "PUT", path, grantJti: grantJti(grant) });
      const req = request(new URL(path, quiet.baseUrl), {
        method: "PUT",
        headers: {
          authorization: `Bearer ${grant}`,
          [HEADERS.proof]: proof,
          [HEADERS.records]: "1",
        },
      });
      const closed = new Promise((resolve) => req.on("error", resolve).on("response", resolve));
      req.write(randomBytes(10_000)); // ...and then nothing more
      await closed;
      expect(await quiet.store.info(`${PREFIX}p7`)).toBeUndefined();
      await expect.poll(() => readdirSync(join(quiet.store.files.root, "tmp"))).toEqual([]);
    } finally {
      await quiet.close();
    }
  });

  it("refuses a PUT without a record count with 400", async () => {
    const grant = await writeGrant();
    const path = bucketPath(`${PREFIX}p6`);
    const proof = await signRequest(worker, { method: "PUT", path, grantJti: grantJti(grant) });
    const res = await rawPut(path, { authorization: `Bearer ${grant}`, [HEADERS.proof]: proof });
    expect(res).toMatchObject({ status: 400, body: { code: "ERR_BAD_REQUEST" } });
  });
});

describe("downloads", () => {
  const id = `j/${JOB}/split/9/0`;
  const data = randomBytes(3 << 20);
  beforeAll(() =>
    t.store.put(id, chunksOf(data), 1 << 30, {
      pseudonym: "h",
      task: "m9",
      attempt: 0,
      records: 1,
    }),
  );
  const readGrant = () => t.grant(worker, { read: [{ kind: "bucket", id }] });

  it("resumes a download cut mid-way with a Range request, and the parts equal the whole", async () => {
    const proxy = await cuttingProxy(t.baseUrl, 1 << 20);
    try {
      const client = new StoreClient({ baseUrl: proxy.url, identity: worker });
      const body = await collect(client.download(await readGrant(), id));
      expect(body.equals(data)).toBe(true);
      expect(proxy.connections()).toBeGreaterThan(1);
    } finally {
      proxy.server.close();
    }
  });

  it("answers a Range request with 206 and the asked bytes, and a bad range with 416", async () => {
    const grant = await readGrant();
    const path = bucketPath(id);
    const headers = async (range: string) => ({
      authorization: `Bearer ${grant}`,
      [HEADERS.proof]: await signRequest(worker, {
        method: "GET",
        path,
        grantJti: grantJti(grant),
      }),
      range,
    });
    const part = await rawGet(path, await headers("bytes=100-199"));
    expect(part.status).toBe(206);
    expect(part.body.equals(data.subarray(100, 200))).toBe(true);
    const bad = await rawGet(path, await headers(`bytes=${data.length}-`));
    expect(bad.status).toBe(416);
    expect(JSON.parse(bad.body.toString())).toMatchObject({ code: "ERR_BAD_RANGE" });
  });

  it("answers 404 for an unknown bucket the grant covers", async () => {
    const missing = `j/${JOB}/split/99/0`;
    const grant = await t.grant(worker, { read: [{ kind: "bucket", id: missing }] });
    await expect(collect(t.client(worker).download(grant, missing))).rejects.toMatchObject({
      status: 404,
      code: "ERR_BUCKET_NOT_FOUND",
    });
  });

  it("answers unknown routes with 404 and other methods with 405, as JSON", async () => {
    expect((await rawGet("/nothing", {})).status).toBe(404);
    const res = await new Promise<number>((resolve) =>
      request(new URL(bucketPath(id), t.baseUrl), { method: "DELETE" }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      }).end(),
    );
    expect(res).toBe(405);
  });
});

describe("a full disk", () => {
  // The full disk is a tiny tmpfs, and mounting one needs root (CI and these machines run as root).
  // Without root this fails, saying so, rather than skip a case the store must pass.
  it("gives 507 and keeps no partial bucket", async () => {
    if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs: run it as root");
    const mount = mkdtempSync(join(tmpdir(), "tormr-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mount]);
    const small = await startStore({ root: mount });
    try {
      const grant = await small.grant(worker, { write: [PREFIX], maxBytes: 1 << 30 });
      await expect(
        small.client(worker).put(grant, `${PREFIX}p0`, chunksOf(randomBytes(2 << 20)), {
          records: 1,
        }),
      ).rejects.toMatchObject({ status: 507, code: "ERR_DISK_FULL" });
      expect(await small.store.info(`${PREFIX}p0`)).toBeUndefined();
      // The store still works once there is room again.
      await small.client(worker).put(grant, `${PREFIX}p1`, chunksOf(randomBytes(1000)), {
        records: 1,
      });
    } finally {
      await small.close();
      execFileSync("umount", [mount]);
      rmSync(mount, { recursive: true, force: true });
    }
  });
});

/** A TCP proxy that cuts its first connection after `cutAfter` bytes of response. */
async function cuttingProxy(target: string, cutAfter: number) {
  const { hostname, port } = new URL(target);
  let count = 0;
  const server: Server = createServer((client: Socket) => {
    const first = count++ === 0;
    const upstream = connect(Number(port), hostname);
    let sent = 0;
    upstream.on("data", (chunk: Buffer) => {
      sent += chunk.length;
      if (first && sent > cutAfter) {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on("data", (chunk) => upstream.write(chunk));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${address.port}`, connections: () => count };
}

function rawPut(path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    // `path` as given: a URL would resolve the `.` and `..` segments before they reach the store.
    const { hostname, port } = new URL(t.baseUrl);
    const req = request({ hostname, port, path, method: "PUT", headers }, async (res) => {
      const text = (await collect(res)).toString();
      resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
    });
    req.on("error", reject);
    req.end("abc");
  });
}

function rawGet(path: string, headers: Record<string, string>) {
  return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = request(new URL(path, t.baseUrl), { headers }, async (res) => {
      resolve({ status: res.statusCode ?? 0, body: await collect(res) });
    });
    req.on("error", reject);
    req.end();
  });
}

// The store client: how it names grants, signs requests, and reports what a store (or a stranger) answered.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair } from "@tormr/crypto/keys";
import { afterEach, describe, expect, it } from "vitest";
import { grantJti, StoreClient } from "./store-client.ts";

const identity = generateKeyPair("Ed25519");
const fakeGrant = (payload: object) =>
  `e30.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;
let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  server = createServer(handler);
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return new StoreClient({ baseUrl: `http://127.0.0.1:${port}`, identity, resumeAttempts: 1 });
}

const drain = async (stream: AsyncIterable<unknown>) => {
  for await (const _ of stream);
};

describe("grantJti", () => {
  it("reads the jti of a grant", () => {
    expect(grantJti(fakeGrant({ jti: "abc" }))).toBe("abc");
  });

  it("refuses what is not a JWT with a jti", () => {
    for (const bad of ["", "x", fakeGrant({}), "a.!!!.c", fakeGrant({ jti: 3 })]) {
      expect(() => grantJti(bad)).toThrow(/not a JWT with a jti/);
    }
  });
});

describe("StoreClient", () => {
  it("sends the grant as a bearer token and a proof for the exact path", async () => {
    let seen: IncomingMessage | undefined;
    const client = await serve((req, res) => {
      seen = req;
      res.writeHead(200, { "content-length": "2", etag: '"x"' }).end("ok");
    });
    const grant = fakeGrant({ jti: "j1" });
    await drain(client.download(grant, "j/job1/split/0/0"));
    expect(seen?.url).toBe("/buckets/j/job1/split/0/0");
    expect(seen?.headers.authorization).toBe(`Bearer ${grant}`);
    expect(seen?.headers["tormr-proof"]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("turns a store's JSON error into a StoreRequestError with its code and message", async () => {
    const client = await serve((_req, res) => {
      res
        .writeHead(403, { "content-type": "application/json" })
        .end(JSON.stringify({ code: "ERR_GRANT_SCOPE", message: "no" }));
    });
    await expect(drain(client.download(fakeGrant({ jti: "j" }), "j/a/b"))).rejects.toMatchObject({
      status: 403,
      code: "ERR_GRANT_SCOPE",
      message: "no",
    });
  });

  it("names the status when the answer is not the store's JSON (a proxy's error page)", async () => {
    const client = await serve((_req, res) => {
      res.writeHead(502).end("<html>bad gateway</html>");
    });
    await expect(
      client.put(fakeGrant({ jti: "j" }), "j/a/m/0/0/p0", [Buffer.from("x")], { records: 1 }),
    ).rejects.toMatchObject({ status: 502, code: "ERR_HTTP_502" });
  });

  it("fails a download that keeps ending early once its resumes are used up", async () => {
    const client = await serve((_req, res) => {
      res.writeHead(200, { "content-length": "100", etag: '"x"' });
      res.write("short");
      res.destroy();
    });
    await expect(drain(client.download(fakeGrant({ jti: "j" }), "j/a/b"))).rejects.toThrow();
  });
});

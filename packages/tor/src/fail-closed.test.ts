// A request without its Tor agent fails in tor mode, and never reaches the network.
import { once } from "node:events";
import { createServer, get } from "node:http";
import { describe, expect, it } from "vitest";
import { refuseDirectHttp } from "./fail-closed.ts";

describe("refuseDirectHttp", () => {
  it("makes agent-less requests fail with ERR_NOT_ONION until restored", async () => {
    let connections = 0;
    const server = createServer((_req, res) => res.end("hi"));
    server.on("connection", () => connections++);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    const fetchOnce = () =>
      new Promise<number | undefined>((resolve, reject) => {
        get(url, (res) => {
          res.resume();
          resolve(res.statusCode);
        }).on("error", reject);
      });
    const restore = refuseDirectHttp();
    try {
      await expect(fetchOnce()).rejects.toMatchObject({
        code: "ERR_NOT_ONION",
        message: expect.stringMatching(/refusing a direct connection to 127\.0\.0\.1/),
      });
      expect(connections).toBe(0);
    } finally {
      restore();
    }
    await expect(fetchOnce()).resolves.toBe(200);
    expect(connections).toBe(1);
    server.close();
  });
});

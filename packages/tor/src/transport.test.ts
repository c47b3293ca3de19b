// The transport without tor: which URLs each mode takes, and how SOCKS refusals read, against a scripted SOCKS5 server.
import { once } from "node:events";
import { get } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { socksReplyOf } from "./socks-errors.ts";
import { chooseTransportKind, TorAgent, torTransport } from "./transport.ts";

// rend-spec-v3's test vector address (see test/vectors/onion-address.json).
const ONION = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion";

interface ScriptedSocks {
  server: Server;
  port: number;
  /** Hosts the clients asked to CONNECT to, in order. */
  requests: string[];
  connections: number;
}

/** A SOCKS5 server (RFC 1928) that accepts username/password and answers every CONNECT with `reply`. */
async function scriptedSocks(reply: number): Promise<ScriptedSocks> {
  const state = { requests: [] as string[], connections: 0 };
  const server = createServer((socket: Socket) => {
    state.connections++;
    let buffer = Buffer.alloc(0);
    let stage = 0;
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (stage === 0 && buffer.length >= 2 && buffer.length >= 2 + (buffer[1] ?? 0)) {
        const methods = [...buffer.subarray(2, 2 + (buffer[1] ?? 0))];
        buffer = buffer.subarray(2 + (buffer[1] ?? 0));
        const method = methods.includes(2) ? 2 : 0;
        socket.write(Buffer.from([5, method]));
        stage = method === 2 ? 1 : 2;
      }
      if (stage === 1 && buffer.length >= 2) {
        const userLength = buffer[1] ?? 0;
        const passLength = buffer[2 + userLength];
        if (passLength === undefined || buffer.length < 3 + userLength + passLength) return;
        buffer = buffer.subarray(3 + userLength + passLength);
        socket.write(Buffer.from([1, 0]));
        stage = 2;
      }
      if (stage === 2 && buffer.length >= 5 && buffer[3] === 3) {
        const length = buffer[4] ?? 0;
        if (buffer.length < 7 + length) return;
        state.requests.push(buffer.subarray(5, 5 + length).toString("latin1"));
        socket.end(Buffer.from([5, reply, 0, 1, 0, 0, 0, 0, 0, 0]));
        stage = 3;
      }
    });
    socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    get requests() {
      return state.requests;
    },
    get connections() {
      return state.connections;
    },
  };
}

function request(url: string, agent: TorAgent): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", reject);
  });
}

describe("chooseTransportKind", () => {
  it("takes tor for an onion and direct for loopback when nothing is asked", () => {
    expect(chooseTransportKind(`http://${ONION}`)).toBe("tor");
    expect(chooseTransportKind("http://127.0.0.1:7311")).toBe("direct");
    expect(chooseTransportKind("http://localhost:80/x")).toBe("direct");
    expect(chooseTransportKind("http://[::1]:80")).toBe("direct");
  });

  it("refuses a host that leaves the machine unless direct is asked for", () => {
    expect(() => chooseTransportKind("http://10.0.0.5:7311")).toThrow(
      /neither an onion address nor on this machine.*--transport direct/,
    );
    expect(chooseTransportKind("http://10.0.0.5:7311", "direct")).toBe("direct");
  });

  it("refuses a non-onion URL in tor mode, and an onion in direct mode", () => {
    expect(() => chooseTransportKind("http://127.0.0.1:7311", "tor")).toThrow(
      /only \.onion addresses/,
    );
    expect(() => chooseTransportKind(`http://${ONION}`, "direct")).toThrow(/only Tor reaches/);
  });

  it("names a broken onion address's fault", () => {
    const bad = `http://${ONION.replace("pg6", "pg7")}`;
    expect(() => chooseTransportKind(bad)).toThrow(/checksum does not match/);
    expect(() => chooseTransportKind("ftp://x.onion")).toThrow(/expected an http:\/\/ URL/);
  });
});

describe("socksReplyOf", () => {
  it("reads standard and tor-extended replies back from the socks client's messages", () => {
    expect(socksReplyOf("Received invalid Socks5 final handshake response - HostUnreachable")).toBe(
      4,
    );
    expect(socksReplyOf("Received invalid Socks5 final handshake response - TorReplyF4")).toBe(
      0xf4,
    );
    expect(socksReplyOf("Socket closed")).toBeUndefined();
  });
});

describe("TorAgent", () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it("refuses a non-onion host before it opens any connection", async () => {
    const socks = await scriptedSocks(0);
    servers.push(socks.server);
    const transport = torTransport({ socks: { port: socks.port } });
    for (const url of ["http://example.com/", "http://127.0.0.1:1/", "http://10.1.2.3/"]) {
      await expect(request(url, transport.agent as TorAgent)).rejects.toMatchObject({
        code: "ERR_NOT_ONION",
      });
    }
    expect(() => transport.checkUrl("http://example.com/")).toThrow(/only \.onion addresses/);
    expect(socks.connections).toBe(0);
    transport.close();
  });

  it.each([
    [0xf4, /needs client authorization, and this tor has no key for it/],
    [0xf5, /refused this client's authorization key/],
    [0xf0, /not published on Tor/],
    [0xf2, /unreachable \(onion service introduction failed\)/],
    [0xf6, /not a valid onion address/],
    [0x04, /host unreachable/],
  ])("maps SOCKS reply 0x%s to a clear message", async (reply, message) => {
    const socks = await scriptedSocks(reply);
    servers.push(socks.server);
    const agent = new TorAgent({ socks: { port: socks.port }, isolation: "job_1" });
    const error = await request(`http://${ONION}/x`, agent).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ERR_SOCKS", socksReply: reply });
    expect((error as Error).message).toMatch(message);
    // socks5h: the name goes to the proxy, never to a resolver here.
    expect(socks.requests).toEqual([ONION]);
    agent.destroy();
  });

  it("says tor is not running when its SOCKS port refuses", async () => {
    const socks = await scriptedSocks(0);
    socks.server.close();
    await once(socks.server, "close");
    const agent = new TorAgent({ socks: { port: socks.port } });
    await expect(request(`http://${ONION}/`, agent)).rejects.toMatchObject({
      code: "ERR_TOR_CONNECT",
      message: expect.stringMatching(/is tor running\?/),
    });
  });
});

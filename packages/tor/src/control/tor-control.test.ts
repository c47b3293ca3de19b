import { createHmac } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { authenticate } from "./authenticate.ts";
import { TorControl } from "./tor-control.ts";

/** A scripted control port: `answer` maps each command line to what the fake tor writes back. */
async function fakeTor(
  answer: (line: string, socket: Socket) => string | undefined,
): Promise<Server> {
  const server = createServer((socket) => {
    let buffer = "";
    socket.on("data", (chunk) => {
      buffer += chunk.toString();
      for (let end = buffer.indexOf("\r\n"); end >= 0; end = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const reply = answer(line, socket);
        if (reply !== undefined) socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

const portOf = (server: Server) => (server.address() as { port: number }).port;
let servers: Server[] = [];
afterEach(() => {
  for (const server of servers) server.close();
  servers = [];
});

describe("TorControl", () => {
  it("answers commands in order, one at a time, and hands events to subscribers", async () => {
    const seen: string[] = [];
    const server = await fakeTor((line) => {
      seen.push(line);
      // Each answer is preceded by an event, split over two writes.
      return `650 STREAM 1 NEW 0 x.onion:80\r\n250-echo=${line}\r\n250 OK\r\n`;
    });
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server) });
    const events: string[] = [];
    control.on("STREAM", (event) => events.push(event.lines[0]?.text ?? ""));
    const replies = await Promise.all(
      ["GETINFO a", "GETINFO b", "GETINFO c"].map((c) => control.send(c)),
    );
    expect(replies.map((r) => r.lines[0]?.text)).toEqual([
      "echo=GETINFO a",
      "echo=GETINFO b",
      "echo=GETINFO c",
    ]);
    expect(seen).toEqual(["GETINFO a", "GETINFO b", "GETINFO c"]);
    expect(events).toHaveLength(3);
    await control.close();
  });

  it("quotes tor's error answer and keeps keys out of the message", async () => {
    const server = await fakeTor(() => "512 Bad arguments to ADD_ONION: Unrecognized key\r\n");
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server) });
    const failure = control.send("ADD_ONION ED25519-V3:c2VjcmV0 Port=80");
    await expect(failure).rejects.toMatchObject({
      code: "ERR_TOR_COMMAND",
      message:
        "tor refused 'ADD_ONION ED25519-V3:[redacted] Port=80': 512 Bad arguments to ADD_ONION: Unrecognized key",
    });
    await control.close();
  });

  it("times a silent command out and fails what was queued behind it", async () => {
    const server = await fakeTor(() => undefined);
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server), commandTimeoutMs: 100 });
    const first = control.send("GETINFO version");
    const second = control.send("GETINFO config-file");
    await expect(first).rejects.toMatchObject({
      code: "ERR_TOR_TIMEOUT",
      message: /GETINFO version.*100 ms/,
    });
    await expect(second).rejects.toMatchObject({ code: "ERR_TOR_TIMEOUT" });
    expect(control.closed).toBe(true);
  });

  it("refuses a command with a line break in it", async () => {
    const server = await fakeTor(() => "250 OK\r\n");
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server) });
    await expect(control.send("SETCONF a=1\r\nSIGNAL HALT")).rejects.toMatchObject({
      code: "ERR_TOR_ARGUMENT",
    });
    await control.close();
  });

  it("says where it tried when nothing listens", async () => {
    const server = await fakeTor(() => undefined);
    const port = portOf(server);
    server.close();
    await expect(TorControl.connect({ port })).rejects.toMatchObject({
      code: "ERR_TOR_CONNECT",
      message: expect.stringContaining(`127.0.0.1:${port}`),
    });
  });
});

describe("authenticate", () => {
  const cookie = Buffer.alloc(32, 7);
  const dir = mkdtempSync(join(tmpdir(), "tormr-tor-auth-"));
  const cookieFile = join(dir, "control_auth_cookie");
  writeFileSync(cookieFile, cookie);
  const protocolInfo = (methods: string) =>
    `250-PROTOCOLINFO 1\r\n250-AUTH METHODS=${methods} COOKIEFILE="${cookieFile}"\r\n250-VERSION Tor="0.4.9.11"\r\n250 OK\r\n`;

  it("uses a password when given one", async () => {
    const server = await fakeTor((line) => {
      if (line === "PROTOCOLINFO 1") return protocolInfo("HASHEDPASSWORD");
      return line === 'AUTHENTICATE "s3cr\\"et"' ? "250 OK\r\n" : "515 Authentication failed\r\n";
    });
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server) });
    expect(await authenticate(control, { password: 's3cr"et' })).toBe("HASHEDPASSWORD");
    await control.close();
  });

  it("refuses a SAFECOOKIE server that does not know the cookie", async () => {
    const server = await fakeTor((line) => {
      if (line === "PROTOCOLINFO 1") return protocolInfo("COOKIE,SAFECOOKIE");
      if (line.startsWith("AUTHCHALLENGE")) {
        const hash = createHmac("sha256", "wrong").update("x").digest("hex");
        return `250 AUTHCHALLENGE SERVERHASH=${hash} SERVERNONCE=${"ab".repeat(32)}\r\n`;
      }
      return "250 OK\r\n";
    });
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server) });
    await expect(authenticate(control)).rejects.toMatchObject({
      code: "ERR_TOR_AUTH",
      message: /does not know tor's cookie/,
    });
    await control.close();
  });

  it("turns tor's refusal into ERR_TOR_AUTH", async () => {
    const server = await fakeTor((line) =>
      line === "PROTOCOLINFO 1"
        ? protocolInfo("COOKIE")
        : "515 Authentication failed: Wrong length on authentication cookie.\r\n",
    );
    servers.push(server);
    const control = await TorControl.connect({ port: portOf(server) });
    await expect(authenticate(control)).rejects.toMatchObject({
      code: "ERR_TOR_AUTH",
      message: /COOKIE authentication failed.*515 Authentication failed/,
    });
    await control.close();
  });
});

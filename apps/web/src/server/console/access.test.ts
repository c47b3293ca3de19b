import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { ConsoleAccess, SESSION_COOKIE } from "./access.ts";

const request = (headers: Record<string, string | undefined>, method = "GET") =>
  ({ headers, method }) as unknown as IncomingMessage;

describe("the console's access rules", () => {
  const access = new ConsoleAccess(4242);
  const session = `${SESSION_COOKIE}=${access.session}`;

  it("answers only to its own Host names", () => {
    expect(access.hostRefusal(request({ host: "127.0.0.1:4242" }))).toBeUndefined();
    expect(access.hostRefusal(request({ host: "localhost:4242" }))).toBeUndefined();
    for (const host of ["127.0.0.1:4243", "evil.example:4242", "127.0.0.1", "[::1]:4242"]) {
      expect(access.hostRefusal(request({ host }))).toMatchObject({
        status: 421,
        code: "ERR_HOST",
      });
    }
    expect(access.hostRefusal(request({}))).toMatchObject({ status: 421 });
  });

  it("spends the printed key once, and never takes a wrong one", () => {
    const fresh = new ConsoleAccess(4242);
    const key = new URL(fresh.openUrl()).searchParams.get("key");
    expect(key).toMatch(/^[\w-]{43}$/);
    expect(fresh.spendKey("x".repeat(43))).toBe(false);
    expect(fresh.spendKey(null)).toBe(false);
    expect(fresh.spendKey(key)).toBe(true);
    expect(fresh.spendKey(key)).toBe(false);
  });

  it("needs the session, as the cookie or a Bearer token", () => {
    const host = "127.0.0.1:4242";
    expect(access.refusal(request({ host, cookie: `a=b; ${session}` }))).toBeUndefined();
    expect(
      access.refusal(request({ host, authorization: `Bearer ${access.session}` })),
    ).toBeUndefined();
    for (const headers of [
      {},
      { cookie: `${SESSION_COOKIE}=wrong` },
      { authorization: "Bearer " },
    ]) {
      expect(access.refusal(request({ host, ...headers }))).toMatchObject({
        status: 401,
        code: "ERR_CONSOLE_SECRET",
      });
    }
    expect(access.sessionCookie()).toMatch(/; HttpOnly; SameSite=Strict; Path=\/$/);
  });

  it("refuses changes from another origin, and takes them from its own or with no Origin", () => {
    const host = "127.0.0.1:4242";
    const ok = (origin?: string) =>
      access.refusal(request({ host, cookie: session, ...(origin ? { origin } : {}) }, "POST"));
    expect(ok()).toBeUndefined();
    expect(ok("http://127.0.0.1:4242")).toBeUndefined();
    expect(ok("http://evil.example")).toMatchObject({ status: 403, code: "ERR_ORIGIN" });
    expect(ok("null")).toMatchObject({ status: 403 });
  });
});

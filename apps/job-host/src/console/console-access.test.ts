import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { ConsoleAccess, cookieValue, hostAllowed, SESSION_COOKIE } from "./console-access.ts";

const request = (cookie?: string) =>
  ({ headers: cookie === undefined ? {} : { cookie } }) as IncomingMessage;

describe("hostAllowed", () => {
  it("answers only to this listener's own names", () => {
    expect(hostAllowed("127.0.0.1:4000", 4000)).toBe(true);
    expect(hostAllowed("localhost:4000", 4000)).toBe(true);
    expect(hostAllowed("127.0.0.1:4001", 4000)).toBe(false);
    // A rebinding page's own name, pointed at 127.0.0.1.
    expect(hostAllowed("attacker.example:4000", 4000)).toBe(false);
    expect(
      hostAllowed("abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", 4000),
    ).toBe(false);
    expect(hostAllowed("127.0.0.1", 4000)).toBe(false);
    expect(hostAllowed(undefined, 4000)).toBe(false);
  });
});

describe("cookieValue", () => {
  it("finds one cookie among several", () => {
    expect(cookieValue(`a=1; ${SESSION_COOKIE}=xyz; b=2`, SESSION_COOKIE)).toBe("xyz");
    expect(cookieValue("a=1", SESSION_COOKIE)).toBeUndefined();
    expect(cookieValue(undefined, SESSION_COOKIE)).toBeUndefined();
  });
});

describe("ConsoleAccess", () => {
  it("is random per start", () => {
    expect(new ConsoleAccess().key).not.toBe(new ConsoleAccess().key);
    expect(new ConsoleAccess().key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a request with no key and no cookie", () => {
    expect(new ConsoleAccess().admit(request(), undefined)).toEqual({
      kind: "refused",
      reason: "no-secret",
    });
  });

  it("refuses a wrong key, and a cookie it never set", () => {
    const access = new ConsoleAccess();
    expect(access.admit(request(), "x".repeat(43))).toEqual({ kind: "refused", reason: "bad-key" });
    expect(access.admit(request(`${SESSION_COOKIE}=guess`), undefined).kind).toBe("refused");
  });

  it("trades the key once for a strict, HttpOnly session cookie under /console", () => {
    const access = new ConsoleAccess();
    const first = access.admit(request(), access.key);
    if (first.kind !== "exchange") throw new Error(`expected an exchange, got ${first.kind}`);
    expect(first.setCookie).toMatch(
      new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/console$`),
    );
    const cookie = first.setCookie.split(";")[0] as string;
    expect(access.admit(request(cookie), undefined)).toEqual({ kind: "session" });
    // The key is spent: a second browser holding the same link gets nothing.
    expect(access.admit(request(), access.key)).toEqual({ kind: "refused", reason: "key-used" });
    // The session cookie is not the key.
    expect(access.admit(request(`${SESSION_COOKIE}=${access.key}`), undefined).kind).toBe(
      "refused",
    );
  });
});

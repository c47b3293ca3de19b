// Who may reach the console: a request naming this listener in its Host header, holding the session cookie that the printed one-time key was exchanged for.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "tormr_console";

/** 32 random bytes, base64url: the key in the printed URL, and the session cookie's value. */
function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

function sameSecret(given: string | undefined, expected: string | undefined): boolean {
  if (given === undefined || expected === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The listener binds 127.0.0.1, but onion traffic arrives from 127.0.0.1 too, and a web page can
 * point a name of its own at 127.0.0.1 (DNS rebinding): so only a Host header that names this
 * listener itself is answered.
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}

/** The value of one cookie in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export type Admission =
  | { kind: "session" }
  | { kind: "exchange"; setCookie: string }
  | { kind: "refused"; reason: "no-secret" | "key-used" | "bad-key" };

/**
 * One console start: a key, good for one visit, which sets a session cookie (HttpOnly, so no
 * script reads it; SameSite=Strict, so no other site's page sends it; Path=/console). The key is
 * spent on first use, so a URL left in a shell history or a browser history opens nothing.
 */
export class ConsoleAccess {
  readonly key = newSecret();
  #session: string | undefined;

  /** Whether `req` may see the console; `key` is the `?key=` of its URL, if any. */
  admit(req: IncomingMessage, key: string | undefined): Admission {
    if (sameSecret(cookieValue(req.headers.cookie, SESSION_COOKIE), this.#session)) {
      return { kind: "session" };
    }
    if (key === undefined) return { kind: "refused", reason: "no-secret" };
    if (this.#session !== undefined) {
      return { kind: "refused", reason: sameSecret(key, this.key) ? "key-used" : "bad-key" };
    }
    if (!sameSecret(key, this.key)) return { kind: "refused", reason: "bad-key" };
    this.#session = newSecret();
    return {
      kind: "exchange",
      setCookie: `${SESSION_COOKIE}=${this.#session}; HttpOnly; SameSite=Strict; Path=/console`,
    };
  }
}

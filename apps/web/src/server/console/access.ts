// Who may use the console: its own Host names only, then the holder of the one-time key it printed, by a strict session cookie.
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

export const SESSION_COOKIE = "tormr_console";

/** Why a request was refused, as the console answers it. */
export interface Refusal {
  status: 401 | 403 | 421;
  code: "ERR_HOST" | "ERR_CONSOLE_SECRET" | "ERR_ORIGIN";
  message: string;
}

const secret = () => randomBytes(32).toString("base64url");

function same(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? "");
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

/**
 * The console's access rules. The printed key works once, for a browser that then holds the
 * session in an HttpOnly, SameSite=Strict cookie; scripts may send the session as a Bearer token.
 * The listener is on 127.0.0.1, where onion traffic arrives too, so the address proves nothing:
 * the Host check stops DNS rebinding, the secret stops everyone else.
 */
export class ConsoleAccess {
  readonly session = secret();
  private key: string | undefined = secret();
  readonly port: number;

  constructor(port: number) {
    this.port = port;
  }

  /** The URL to print: it opens the console once. */
  openUrl(): string {
    return `http://127.0.0.1:${this.port}/console/open?key=${this.key}`;
  }

  hostRefusal(req: IncomingMessage): Refusal | undefined {
    const host = req.headers.host;
    if (host === `127.0.0.1:${this.port}` || host === `localhost:${this.port}`) return undefined;
    return {
      status: 421,
      code: "ERR_HOST",
      message: `the console answers only to 127.0.0.1:${this.port} and localhost:${this.port}`,
    };
  }

  /** Spends the one-time key; true if `given` was it. */
  spendKey(given: string | null): boolean {
    if (this.key === undefined || given === null || !same(given, this.key)) return false;
    this.key = undefined;
    return true;
  }

  sessionCookie(): string {
    return `${SESSION_COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** The request's own refusal, or undefined when it may go on. */
  refusal(req: IncomingMessage): Refusal | undefined {
    const host = this.hostRefusal(req);
    if (host) return host;
    const auth = req.headers.authorization;
    const given = auth?.startsWith("Bearer ")
      ? auth.slice(7)
      : cookie(req.headers.cookie, SESSION_COOKIE);
    if (!same(given, this.session)) {
      return {
        status: 401,
        code: "ERR_CONSOLE_SECRET",
        message:
          "this console needs its secret: open the URL that 'tormr console' printed, or run it again for a new one",
      };
    }
    // A form posted from another origin (SameSite=Strict already keeps the cookie from it).
    const origin = req.headers.origin;
    const unsafe = !["GET", "HEAD"].includes(req.method ?? "GET");
    if (unsafe && origin !== undefined && origin !== `http://${req.headers.host}`) {
      return {
        status: 403,
        code: "ERR_ORIGIN",
        message: "a change must come from the console's own pages",
      };
    }
    return undefined;
  }
}

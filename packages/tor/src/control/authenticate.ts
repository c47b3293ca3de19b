// Control-port authentication: PROTOCOLINFO, then cookie, SAFECOOKIE or password (control-spec §3.5, §3.21, §3.24).
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { TorError } from "../errors.ts";
import { parseArguments, quoteString } from "./tokens.ts";
import type { TorControl } from "./tor-control.ts";

export type AuthMethod = "NULL" | "HASHEDPASSWORD" | "COOKIE" | "SAFECOOKIE";

export interface ProtocolInfo {
  methods: AuthMethod[];
  /** Absolute path of the authentication cookie, when COOKIE or SAFECOOKIE is offered. */
  cookieFile: string | undefined;
  torVersion: string | undefined;
}

const methodSchema = z.enum(["NULL", "HASHEDPASSWORD", "COOKIE", "SAFECOOKIE"]);

/**
 * PROTOCOLINFO (control-spec §3.21): which authentication methods tor accepts and where the
 * cookie is. Before authenticating, tor answers it only once per connection.
 */
export async function protocolInfo(control: TorControl): Promise<ProtocolInfo> {
  const reply = await control.send("PROTOCOLINFO 1");
  const info: ProtocolInfo = { methods: [], cookieFile: undefined, torVersion: undefined };
  for (const line of reply.lines) {
    const { positional, keywords } = parseArguments(line.text);
    if (positional[0] === "AUTH") {
      const methods = (keywords.get("METHODS") ?? "").split(",");
      // Methods tor may add later are ignored rather than refused.
      info.methods = methods.flatMap((method) => {
        const parsed = methodSchema.safeParse(method);
        return parsed.success ? [parsed.data] : [];
      });
      info.cookieFile = keywords.get("COOKIEFILE");
    } else if (positional[0] === "VERSION") {
      info.torVersion = keywords.get("Tor");
    }
  }
  return info;
}

export interface AuthenticateOptions {
  /** Defaults to the best method tor offers: SAFECOOKIE, then COOKIE, then NULL. */
  method?: "COOKIE" | "SAFECOOKIE" | "HASHEDPASSWORD" | "NULL";
  password?: string;
  /** Overrides the cookie path PROTOCOLINFO names (when tor runs in another mount namespace). */
  cookieFile?: string;
}

/** SAFECOOKIE's HMAC keys (control-spec §3.24). */
const SERVER_KEY = "Tor safe cookie authentication server-to-controller hash";
const CONTROLLER_KEY = "Tor safe cookie authentication controller-to-server hash";

async function readCookie(path: string | undefined): Promise<Buffer> {
  if (!path)
    throw new TorError("ERR_TOR_AUTH", "tor offers cookie authentication but names no cookie file");
  let cookie: Buffer;
  try {
    cookie = await readFile(path);
  } catch (error) {
    throw new TorError(
      "ERR_TOR_AUTH",
      `cannot read tor's auth cookie ${path}: ${(error as Error).message}; run as a user that can read it`,
      { cause: error },
    );
  }
  if (cookie.length !== 32) {
    throw new TorError(
      "ERR_TOR_AUTH",
      `tor's auth cookie ${path} has ${cookie.length} bytes, expected 32`,
    );
  }
  return cookie;
}

/**
 * Authenticates the connection (AUTHENTICATE, control-spec §3.5). SAFECOOKIE (§3.24) also checks
 * that the server knows the cookie before the controller reveals anything derived from it.
 * @returns the method that was used.
 * @throws TorError ERR_TOR_AUTH when no usable method is offered or tor refuses.
 */
export async function authenticate(
  control: TorControl,
  options: AuthenticateOptions = {},
): Promise<AuthMethod> {
  const info = await protocolInfo(control);
  const method =
    options.method ??
    (options.password !== undefined
      ? "HASHEDPASSWORD"
      : (["SAFECOOKIE", "COOKIE", "NULL"] as const).find((m) => info.methods.includes(m)));
  if (!method || !info.methods.includes(method)) {
    throw new TorError(
      "ERR_TOR_AUTH",
      `tor offers ${info.methods.join(",") || "no method"}, cannot use ${method ?? "any of them"}`,
    );
  }
  const run = async (): Promise<void> => {
    if (method === "NULL") await control.send("AUTHENTICATE");
    else if (method === "HASHEDPASSWORD") {
      if (options.password === undefined) {
        throw new TorError("ERR_TOR_AUTH", "tor wants a control password, and none was given");
      }
      await control.send(`AUTHENTICATE ${quoteString(options.password)}`);
    } else if (method === "COOKIE") {
      const cookie = await readCookie(options.cookieFile ?? info.cookieFile);
      await control.send(`AUTHENTICATE ${cookie.toString("hex")}`);
    } else {
      await safeCookie(control, await readCookie(options.cookieFile ?? info.cookieFile));
    }
  };
  try {
    await run();
  } catch (error) {
    if (error instanceof TorError && error.code === "ERR_TOR_COMMAND") {
      throw new TorError("ERR_TOR_AUTH", `${method} authentication failed: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  return method;
}

async function safeCookie(control: TorControl, cookie: Buffer): Promise<void> {
  const clientNonce = randomBytes(32);
  const reply = await control.send(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString("hex")}`);
  const { keywords } = parseArguments(reply.lines[0]?.text ?? "");
  const serverHash = Buffer.from(keywords.get("SERVERHASH") ?? "", "hex");
  const serverNonce = Buffer.from(keywords.get("SERVERNONCE") ?? "", "hex");
  if (serverHash.length !== 32 || serverNonce.length !== 32) {
    throw new TorError(
      "ERR_TOR_PROTOCOL",
      "AUTHCHALLENGE answer lacks a 32-byte SERVERHASH and SERVERNONCE",
    );
  }
  const message = Buffer.concat([cookie, clientNonce, serverNonce]);
  const expected = createHmac("sha256", SERVER_KEY).update(message).digest();
  if (!timingSafeEqual(expected, serverHash)) {
    // Whoever listens on this port does not know the cookie: it is not our tor.
    throw new TorError(
      "ERR_TOR_AUTH",
      "the control port failed SAFECOOKIE: it does not know tor's cookie",
    );
  }
  const response = createHmac("sha256", CONTROLLER_KEY).update(message).digest("hex");
  await control.send(`AUTHENTICATE ${response}`);
}

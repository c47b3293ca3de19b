// SOCKS5 refusals as clear TorErrors: RFC 1928 §6 replies and tor's extended ones, from the `socks` client's messages.
/// <reference path="./_socks-constants.d.ts" />
import { Socks5Response } from "socks/build/common/constants.js";
import { TorError } from "./errors.ts";
import { SOCKS_REPLIES } from "./socks5-connect.ts";

/**
 * The `socks` client names a refusal by its Socks5Response enum entry ("... rejected - Failure")
 * and knows no name for tor's extended replies 0xF0–0xF7 (tor manual, SocksPort ExtendedErrors):
 * it would print "undefined". Naming them `TorReplyF4` and so on keeps the reply code in the
 * message, where `socksError` reads it back.
 */
const TOR_REPLY_NAME = /TorReply([0-9A-F]{2})\b/;
const table = Socks5Response;
for (let code = 0xf0; code <= 0xf7; code++) {
  const name = `TorReply${code.toString(16).toUpperCase()}`;
  table[code] ??= name;
  table[name] ??= code;
}

/** The reply code a `socks` error message names, if any. */
export function socksReplyOf(message: string): number | undefined {
  const extended = TOR_REPLY_NAME.exec(message);
  if (extended) return Number.parseInt(extended[1] ?? "", 16);
  const standard = / - ([A-Za-z]+)$/.exec(message)?.[1];
  const code = standard === undefined ? undefined : table[standard];
  return typeof code === "number" ? code : undefined;
}

/** What a reply means for whoever tried to reach `host`: what went wrong and what to do. */
function explain(reply: number, host: string): string {
  switch (reply) {
    case 0xf0:
      return `${host} is not published on Tor (no descriptor found): is its service running?`;
    case 0xf1:
      return `${host} published an invalid descriptor`;
    case 0xf2:
    case 0xf3:
    case 0xf7:
      return `${host} is unreachable (${SOCKS_REPLIES[reply]}): it may be offline; retry later`;
    case 0xf4:
      return `${host} needs client authorization, and this tor has no key for it: only the workers of its cluster may connect`;
    case 0xf5:
      return `${host} refused this client's authorization key: this worker is no longer in its cluster`;
    case 0xf6:
      return `${host} is not a valid onion address`;
    default:
      return `cannot reach ${host} through Tor: ${SOCKS_REPLIES[reply] ?? `SOCKS reply 0x${reply.toString(16)}`}`;
  }
}

/**
 * A TorError for a failed SOCKS connection to `host`: ERR_SOCKS with `socksReply` when tor
 * refused it, ERR_TOR_CONNECT when its SOCKS port could not be reached at all.
 */
export function socksError(error: unknown, host: string, proxy: string): TorError {
  if (error instanceof TorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // The `socks` client keeps only the socket error's message ("connect ECONNREFUSED 127.0.0.1:9050").
  const errno = /\b(ECONNREFUSED|ECONNRESET|EHOSTUNREACH)\b/.exec(message)?.[1];
  if (errno !== undefined) {
    return new TorError(
      "ERR_TOR_CONNECT",
      `cannot reach tor's SOCKS port ${proxy} (${errno}): is tor running?`,
      { cause: error },
    );
  }
  const reply = socksReplyOf(message);
  if (reply !== undefined) {
    return new TorError("ERR_SOCKS", explain(reply, host), { cause: error, socksReply: reply });
  }
  if (/timed? ?out/i.test(message)) {
    return new TorError("ERR_TOR_TIMEOUT", `Tor took too long to reach ${host}: ${message}`, {
      cause: error,
    });
  }
  return new TorError("ERR_TOR_CONNECT", `cannot reach ${host} through ${proxy}: ${message}`, {
    cause: error,
  });
}

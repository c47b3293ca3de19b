// Tor mode's backstop: node's default HTTP agents refuse to connect, so a request that forgot its Tor agent fails instead of leaking.
import http, { Agent, type AgentOptions } from "node:http";
import https from "node:https";
import type { Duplex } from "node:stream";
import { TorError } from "./errors.ts";

class RefusingAgent extends Agent {
  override createConnection(
    options: AgentOptions & { host?: string | null; port?: number | string | null },
    callback?: (error: Error | null, socket: Duplex) => void,
  ): Duplex {
    const error = new TorError(
      "ERR_NOT_ONION",
      `refusing a direct connection to ${options.host ?? "?"}:${options.port ?? "?"}: in tor mode every request goes through tor`,
    );
    process.nextTick(() => callback?.(error, undefined as unknown as Duplex));
    return undefined as unknown as Duplex;
  }
}

/**
 * Replaces `http.globalAgent` and `https.globalAgent` for the rest of the process. Every request
 * of a tor-mode process names its TorAgent; one that does not (a bug) gets ERR_NOT_ONION, and no
 * packet leaves. Returns a function that puts the previous agents back (for tests).
 */
export function refuseDirectHttp(): () => void {
  const previous = { http: http.globalAgent, https: https.globalAgent };
  http.globalAgent = new RefusingAgent();
  https.globalAgent = new RefusingAgent() as unknown as https.Agent;
  return () => {
    http.globalAgent = previous.http;
    https.globalAgent = previous.https;
  };
}

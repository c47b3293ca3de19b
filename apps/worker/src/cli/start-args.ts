// Checks start's own values (job host URL, ticket) before anything touches the disk or the network.
import { joinTicketSchema } from "@tormr/protocol/worker-api";
import { TorError } from "@tormr/tor/errors";
import { chooseTransportKind, type TransportKind } from "@tormr/tor/transport";
import type { TorEndpoint } from "../tor-link.ts";
import { UsageError } from "./usage-error.ts";

/** The job host's worker URL: http or https, no query or fragment. */
export function checkJobHost(value: string | undefined): string {
  if (value === undefined) {
    throw new UsageError(
      "ERR_MISSING_FLAG",
      "missing --job-host <url> (or TORMR_WORKER_JOB_HOST); the requester gives it with the ticket",
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(
      "ERR_BAD_VALUE",
      "--job-host: expected a URL such as http://127.0.0.1:7311, got something that is not a URL",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--job-host: expected an http:// or https:// URL, got ${url.protocol}//`,
    );
  }
  return value;
}

/** The one-time ticket. Messages say what is wrong with it but never repeat it. */
export function checkTicket(value: string | undefined): string {
  if (value === undefined) {
    throw new UsageError(
      "ERR_MISSING_FLAG",
      "missing --ticket <ticket> (or TORMR_WORKER_TICKET, which keeps it out of ps)",
    );
  }
  if (!joinTicketSchema.safeParse(value).success) {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--ticket: expected 43 base64url characters, got ${value.length} characters` +
        (/^[A-Za-z0-9_-]*$/.test(value) ? "" : " with some outside A-Z a-z 0-9 - _") +
        "; copy the whole ticket the requester gave you",
    );
  }
  return value;
}

/**
 * The transport for `jobHost`: --tor or --transport, else tor for an onion and direct for
 * loopback. Anything that would leave this machine without Tor is refused unless asked for.
 */
export function checkTransport(
  peer: string,
  flags: { tor?: boolean | undefined; transport?: string | undefined },
  flag = "--job-host",
): TransportKind {
  if (flags.transport !== undefined && flags.transport !== "tor" && flags.transport !== "direct") {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--transport: expected tor or direct, got '${flags.transport}'`,
    );
  }
  if (flags.tor === true && flags.transport === "direct") {
    throw new UsageError(
      "ERR_CONFLICT",
      "--tor and --transport direct contradict each other; give one of them",
    );
  }
  const requested = flags.tor === true ? "tor" : (flags.transport as TransportKind | undefined);
  try {
    return chooseTransportKind(peer, requested);
  } catch (error) {
    if (error instanceof TorError)
      throw new UsageError("ERR_BAD_VALUE", `${flag}: ${error.message}`);
    throw error;
  }
}

/** `[host:]port` of a tor listener; the host defaults to 127.0.0.1. */
export function checkTorEndpoint(flag: string, value: string | undefined): TorEndpoint | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `${flag}: expected [host:]port such as 9051 or 127.0.0.1:9051, got '${value}'`,
    );
  }
  return { host: match[1] ?? "127.0.0.1", port };
}

// How a process reaches its peers: `direct` (plain HTTP, for loopback) or `tor` (socks5h to onion addresses only, failing closed).
import type { Agent, ClientRequest } from "node:http";
import type { Socket } from "node:net";
import { SocksProxyAgent } from "socks-proxy-agent";
import { TorError } from "./errors.ts";
import { parseOnionAddress } from "./onion-address.ts";
import { socksError } from "./socks-errors.ts";
import type { SocksAddress } from "./tor-process.ts";

export type TransportKind = "direct" | "tor";

/** Timeouts for calls over a transport. Tor's are longer: a first onion connection takes seconds. */
export interface TransportTimeouts {
  /** Building the SOCKS stream (descriptor fetch, introduction, rendezvous). */
  connectMs: number;
  /** A connection silent this long is given up (downloads then resume). */
  idleMs: number;
  /** A call that has not answered after this long is abandoned. */
  callMs: number;
  /** How long a peer may stay unreachable on first contact before a client gives up (0: at once). */
  reachMs: number;
}

export const TIMEOUTS: Record<TransportKind, TransportTimeouts> = {
  direct: { connectMs: 10_000, idleMs: 60_000, callMs: 30_000, reachMs: 0 },
  // On the public network a cold onion connection takes 5–30 s, and a fresh onion's descriptor a
  // while to spread; a stalled circuit is better dropped and rebuilt than waited on for minutes.
  tor: { connectMs: 90_000, idleMs: 120_000, callMs: 120_000, reachMs: 120_000 },
};

export interface Transport {
  kind: TransportKind;
  /** The agent every HTTP request goes through; undefined for direct (node's own). */
  agent: Agent | undefined;
  timeouts: TransportTimeouts;
  /**
   * Checks a peer URL before anything is sent: in tor mode only http://<v3>.onion is allowed.
   * @throws TorError ERR_NOT_ONION naming the URL.
   */
  checkUrl(url: string): URL;
  /** Closes idle keep-alive connections. */
  close(): void;
}

/** True for localhost, 127.0.0.0/8 and ::1: the only places `direct` goes without being asked. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Checks that `host` is a v3 onion hostname (with ".onion"), so that tor mode never sends a
 * name that would leave Tor through an exit, or that tor would refuse later.
 * @throws TorError ERR_NOT_ONION.
 */
export function assertOnionHost(host: string, what = host): void {
  const name = host.toLowerCase();
  if (!name.endsWith(".onion")) {
    throw new TorError(
      "ERR_NOT_ONION",
      `refusing ${what}: in tor mode only .onion addresses are reached, and nothing falls back to a direct connection`,
    );
  }
  try {
    parseOnionAddress(name);
  } catch (error) {
    throw new TorError("ERR_NOT_ONION", `refusing ${what}: ${(error as Error).message}`);
  }
}

export interface TorAgentOptions {
  /** tor's SOCKS listener; host 127.0.0.1 by default. */
  socks: Pick<SocksAddress, "port"> & { host?: string };
  /**
   * Streams with different isolation keys never share a circuit: the key is sent as the SOCKS
   * username, and tor's SocksPort isolates by credentials (IsolateSOCKSAuth, on by default).
   */
  isolation?: string;
  timeouts?: Partial<TransportTimeouts>;
}

/**
 * An HTTP agent that opens every connection as a socks5h stream through tor, keeps connections
 * alive, and refuses any host that is not an onion address before a byte leaves the process.
 */
export class TorAgent extends SocksProxyAgent {
  readonly proxyAddress: string;

  constructor(options: TorAgentOptions) {
    const host = options.socks.host ?? "127.0.0.1";
    const user = encodeURIComponent(options.isolation ?? "tormr");
    const timeouts = { ...TIMEOUTS.tor, ...options.timeouts };
    super(`socks5h://${user}:x@${host}:${options.socks.port}`, {
      keepAlive: true,
      keepAliveMsecs: 15_000,
      timeout: timeouts.connectMs,
      // Requests are small and latency-bound; Nagle would hold them back on our side of tor.
      socketOptions: { noDelay: true },
    });
    this.proxyAddress = `${host}:${options.socks.port}`;
  }

  override async connect(
    req: ClientRequest,
    opts: Parameters<SocksProxyAgent["connect"]>[1],
  ): Promise<Socket> {
    const host = opts.host ?? "";
    assertOnionHost(host);
    try {
      return (await super.connect(req, opts)) as Socket;
    } catch (error) {
      throw socksError(error, host, this.proxyAddress);
    }
  }
}

/** A direct transport: node's own agent, any URL (asking for it is the caller's choice). */
export function directTransport(): Transport {
  return {
    kind: "direct",
    agent: undefined,
    timeouts: TIMEOUTS.direct,
    checkUrl: (url) => parseHttpUrl(url),
    close() {},
  };
}

/** A tor transport through `socks`: onion URLs only. */
export function torTransport(options: TorAgentOptions): Transport {
  const agent = new TorAgent(options);
  return {
    kind: "tor",
    agent,
    timeouts: { ...TIMEOUTS.tor, ...options.timeouts },
    checkUrl(url) {
      const parsed = parseHttpUrl(url);
      assertOnionHost(parsed.hostname, url);
      return parsed;
    },
    close: () => agent.destroy(),
  };
}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TorError("ERR_TOR_ARGUMENT", `expected an http:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new TorError("ERR_TOR_ARGUMENT", `expected an http:// URL, got ${parsed.protocol}//`);
  }
  return parsed;
}

/**
 * Which transport a peer URL gets when the user did not say: tor for an onion, direct for
 * loopback. Anything else leaves this machine without Tor, so it must be asked for.
 * @throws TorError ERR_NOT_ONION / ERR_TOR_ARGUMENT saying what to pass.
 */
export function chooseTransportKind(url: string, requested?: TransportKind): TransportKind {
  const { hostname } = parseHttpUrl(url);
  const onion = hostname.toLowerCase().endsWith(".onion");
  if (requested === "tor" || (requested === undefined && onion)) {
    assertOnionHost(hostname, url);
    return "tor";
  }
  if (requested === "direct") {
    if (onion) {
      throw new TorError(
        "ERR_TOR_ARGUMENT",
        `${url} is an onion address, which only Tor reaches; drop --transport direct`,
      );
    }
    return "direct";
  }
  if (isLoopbackHost(hostname)) return "direct";
  throw new TorError(
    "ERR_NOT_ONION",
    `${url} is neither an onion address nor on this machine, so reaching it directly would reveal your IP address; ask the requester for the job host's .onion URL, or pass --transport direct to connect without Tor on purpose`,
  );
}

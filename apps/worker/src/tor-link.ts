// The worker's way to its peers: direct on loopback, or through the volunteer's tor, one attachment for a board and its job hosts.
import { join } from "node:path";
import { loadOrCreateClientAuthKey } from "@tormr/tor/client-auth-file";
import {
  type ClientAuthKeyPair,
  onionClientAuthAdd,
  onionClientAuthRemove,
} from "@tormr/tor/control/client-auth";
import { refuseDirectHttp } from "@tormr/tor/fail-closed";
import { attachTor, waitForBootstrap } from "@tormr/tor/tor-process";
import {
  chooseTransportKind,
  directTransport,
  type Transport,
  type TransportKind,
  torTransport,
} from "@tormr/tor/transport";

/** Kept beside identity.json, and never the same key as its wrapping key: tor holds this one. */
export const CLIENT_AUTH_FILE = "tor-client-auth.json";

export interface TorEndpoint {
  host: string;
  port: number;
}

export interface TorOptions {
  /** tor's control port (default 127.0.0.1:9051, Debian's ControlPort). */
  torControl?: TorEndpoint;
  /** tor's SOCKS port; default: the first one tor reports (GETINFO net/listeners/socks). */
  torSocks?: TorEndpoint;
  torControlPassword?: string;
  /** tor's bootstrap progress, while it is not yet at 100 %. */
  onProgress?: (message: string) => void;
}

/** The volunteer's tor, attached once: every peer gets its own transport and isolation key. */
export interface TorAttachment {
  /** `tor (SOCKS host:port)`, for messages. */
  describe: string;
  /** A transport whose streams never share a circuit with another isolation key's. */
  transport(isolation: string): Transport;
  /** ONION_CLIENT_AUTH_ADD / REMOVE for one onion (in tor's memory only). */
  addClientAuth(onion: string, privateKey: string): Promise<void>;
  removeClientAuth(onion: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Attaches to tor's control port, waits for it to bootstrap, and from then on makes every HTTP
 * request of this process that names no Tor agent fail (fail closed). `close` undoes both.
 * @throws TorError: a tor that cannot be reached or never bootstraps.
 */
export async function attachVolunteerTor(options: TorOptions): Promise<TorAttachment> {
  const restore = refuseDirectHttp();
  const tor = await attachTor({
    host: options.torControl?.host ?? "127.0.0.1",
    controlPort: options.torControl?.port ?? 9051,
    ...(options.torControlPassword ? { password: options.torControlPassword } : {}),
  }).catch((error: unknown) => {
    restore();
    throw error;
  });
  try {
    // A tor that has just started cannot build circuits yet: wait, saying how far it is.
    await waitForBootstrap(tor.control, {
      timeoutMs: 300_000,
      onProgress: (phase) => {
        if (phase.progress < 100)
          options.onProgress?.(`tor bootstrap ${phase.progress}%: ${phase.summary}`);
      },
    });
    const socks = options.torSocks ?? tor.socks;
    if (!socks) {
      throw new Error(
        "tor reports no SOCKS port: enable one (SocksPort 9050 in torrc) or pass --tor-socks",
      );
    }
    const transports = new Set<Transport>();
    return {
      describe: `tor (SOCKS ${socks.host}:${socks.port})`,
      transport(isolation) {
        const transport = torTransport({ socks, isolation });
        transports.add(transport);
        return {
          ...transport,
          close() {
            transports.delete(transport);
            transport.close();
          },
        };
      },
      addClientAuth: (onion, privateKey) => onionClientAuthAdd(tor.control, onion, privateKey),
      removeClientAuth: (onion) => onionClientAuthRemove(tor.control, onion),
      async close() {
        for (const transport of transports) transport.close();
        await tor.control.close();
        restore();
      },
    };
  } catch (error) {
    await tor.control.close();
    restore();
    throw error;
  }
}

export interface LinkOptions extends TorOptions {
  jobHost: string;
  /** What the volunteer asked for; undefined: tor for an onion, direct for loopback, else refused. */
  transport: TransportKind | undefined;
  configDir: string;
  /** A tor already attached (board mode): used, and left attached when the link closes. */
  tor?: TorAttachment;
  /** The client-authorization key to show this job host; default the one in tor-client-auth.json. */
  clientAuthKey?: ClientAuthKeyPair;
}

export interface JobHostLink {
  transport: Transport;
  /** The public half of the client-authorization key, sent when joining over Tor. */
  clientAuth: string | undefined;
  /** Where the job host's onion is, for messages. */
  describe: string;
  /**
   * Takes the key out of tor and gives it again: tor then forgets the descriptor it could not
   * read (ONION_CLIENT_AUTH_REMOVE drops it), and fetches the current one on the next connection.
   */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the link to one job host. Over Tor: gives tor this worker's client-authorization key for
 * the job host's onion, with an isolation key of its own. `close` takes the key back out of tor
 * (and detaches from tor, unless the caller's attachment was passed in).
 * @throws TorError: a URL the transport may not reach, or a tor that cannot be reached.
 */
export async function openJobHostLink(options: LinkOptions): Promise<JobHostLink> {
  const kind = chooseTransportKind(options.jobHost, options.transport);
  if (kind === "direct") {
    return {
      transport: directTransport(),
      clientAuth: undefined,
      describe: "direct",
      refresh: async () => {},
      close: async () => {},
    };
  }
  const { hostname } = new URL(options.jobHost);
  const own = options.tor === undefined;
  const tor = options.tor ?? (await attachVolunteerTor(options));
  try {
    const key =
      options.clientAuthKey ??
      (await loadOrCreateClientAuthKey(join(options.configDir, CLIENT_AUTH_FILE)));
    await tor.addClientAuth(hostname, key.privateKey);
    // One isolation key per job host: its streams never share a circuit with anything else.
    const transport = tor.transport(`tormr-worker:${hostname}`);
    return {
      transport,
      clientAuth: key.publicKey,
      describe: tor.describe,
      async refresh() {
        await tor.removeClientAuth(hostname).catch(() => {});
        await tor.addClientAuth(hostname, key.privateKey);
      },
      async close() {
        transport.close();
        await tor.removeClientAuth(hostname).catch(() => {});
        if (own) await tor.close();
      },
    };
  } catch (error) {
    if (own) await tor.close();
    throw error;
  }
}

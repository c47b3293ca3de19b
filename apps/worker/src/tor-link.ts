// The worker's way to a job host: direct on loopback, or through the volunteer's tor with its own client-authorization key.
import { join } from "node:path";
import { loadOrCreateClientAuthKey } from "@tormr/tor/client-auth-file";
import { onionClientAuthAdd, onionClientAuthRemove } from "@tormr/tor/control/client-auth";
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

export interface LinkOptions {
  jobHost: string;
  /** What the volunteer asked for; undefined: tor for an onion, direct for loopback, else refused. */
  transport: TransportKind | undefined;
  /** tor's control port (default 127.0.0.1:9051, Debian's ControlPort). */
  torControl?: TorEndpoint;
  /** tor's SOCKS port; default: the first one tor reports (GETINFO net/listeners/socks). */
  torSocks?: TorEndpoint;
  torControlPassword?: string;
  configDir: string;
  /** tor's bootstrap progress, while it is not yet at 100 %. */
  onProgress?: (message: string) => void;
}

export interface JobHostLink {
  transport: Transport;
  /** The public half of the client-authorization key, sent when joining over Tor. */
  clientAuth: string | undefined;
  /** Where the job host's onion is, for messages. */
  describe: string;
  close(): Promise<void>;
}

/**
 * Opens the link. Over Tor: attaches to tor's control port, gives tor this worker's
 * client-authorization key for the job host's onion (ONION_CLIENT_AUTH_ADD, in tor's memory
 * only), and makes every other HTTP request of this process fail (fail closed). `close` takes
 * the key back out of tor.
 * @throws TorError: a URL the transport may not reach, or a tor that cannot be reached.
 */
export async function openJobHostLink(options: LinkOptions): Promise<JobHostLink> {
  const kind = chooseTransportKind(options.jobHost, options.transport);
  if (kind === "direct") {
    return {
      transport: directTransport(),
      clientAuth: undefined,
      describe: "direct",
      close: async () => {},
    };
  }
  const { hostname } = new URL(options.jobHost);
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
    const key = await loadOrCreateClientAuthKey(join(options.configDir, CLIENT_AUTH_FILE));
    await onionClientAuthAdd(tor.control, hostname, key.privateKey);
    // One isolation key per job host: its streams never share a circuit with anything else.
    const transport = torTransport({ socks, isolation: `tormr-worker:${hostname}` });
    return {
      transport,
      clientAuth: key.publicKey,
      describe: `tor (SOCKS ${socks.host}:${socks.port})`,
      async close() {
        transport.close();
        await onionClientAuthRemove(tor.control, hostname).catch(() => {});
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

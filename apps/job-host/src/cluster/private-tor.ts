// `--tor` on one machine: a private Tor network on 127.0.0.1 for one job (one tor for the job host, one per worker), then gone.
import { startTestnet } from "@tormr/tor/testnet/network";
import type { TorEndpoint } from "./run-cluster-job.ts";

export interface PrivateTor {
  host: TorEndpoint;
  workers: TorEndpoint[];
  /** The network's folder, for messages. */
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts 3 directory authorities, 4 relays and `workers + 1` clients, and resolves once a test
 * onion answers through them (20 to 40 s here). The caller must `stop()` it; the tors also exit
 * by themselves when this process does.
 */
export async function startPrivateTor(
  workers: number,
  onProgress?: (message: string) => void,
): Promise<PrivateTor> {
  const testnet = await startTestnet({
    clients: Math.max(2, workers + 1),
    ...(onProgress ? { onProgress } : {}),
  });
  // The job host and the workers attach with control connections of their own.
  await Promise.all(testnet.clients.map((client) => client.control.close()));
  const [host, ...rest] = testnet.state.clients;
  if (!host) throw new Error("the private Tor network started no clients");
  return {
    host: { controlPort: host.controlPort },
    workers: rest.map((client) => ({ controlPort: client.controlPort })),
    dir: testnet.dir,
    stop: () => testnet.stop(),
  };
}

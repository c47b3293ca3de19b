// Is the network ready for onion services? A throwaway onion on one client, fetched over HTTP through another client's SOCKS.
import { once } from "node:events";
import { createServer } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { addOnion, delOnion } from "../control/onion-service.ts";
import type { TorControl } from "../control/tor-control.ts";
import { TorError } from "../errors.ts";
import { fetchThroughSocks } from "../socks5-connect.ts";
import type { SocksAddress } from "../tor-process.ts";

const BODY = "tormr-testnet ready";

/**
 * Publishes an onion on `host` and fetches it through `socks` until it answers, or throws after
 * `timeoutMs`. Returns how long the first successful fetch took from publication.
 */
export async function waitForOnion(
  host: TorControl,
  socks: SocksAddress,
  options: { timeoutMs?: number; onAttempt?: (error: Error) => void } = {},
): Promise<number> {
  const server = createServer((_request, response) => response.end(BODY));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 90_000);
  const onion = await addOnion(host, {
    ports: [{ virtualPort: 80, target: port }],
    discardKey: true,
  });
  let lastError: Error | undefined;
  try {
    while (Date.now() < deadline) {
      try {
        const response = await fetchThroughSocks({
          proxy: socks,
          host: onion.hostname,
          port: 80,
          timeoutMs: Math.max(1000, Math.min(30_000, deadline - Date.now())),
        });
        if (response.endsWith(BODY)) return Date.now() - started;
        lastError = new Error(`unexpected answer: ${response.slice(0, 80)}`);
      } catch (error) {
        lastError = error as Error;
        options.onAttempt?.(lastError);
      }
      await sleep(500);
    }
    throw new TorError(
      "ERR_TESTNET",
      `the test onion did not answer within ${options.timeoutMs ?? 90_000} ms: ${lastError?.message ?? "no attempt finished"}`,
    );
  } finally {
    await delOnion(host, onion.serviceId).catch(() => {});
    server.close();
  }
}

// Shared by the network tests: a control connection to one of the network's clients, a tiny HTTP server, fetches that retry.
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { authenticate } from "../src/control/authenticate.ts";
import { TorControl } from "../src/control/tor-control.ts";
import { fetchThroughSocks } from "../src/socks5-connect.ts";
import type { TestnetClient } from "../src/testnet/state.ts";

export async function controlOf(client: TestnetClient): Promise<TorControl> {
  const control = await TorControl.connect({ port: client.controlPort });
  await authenticate(control);
  return control;
}

export async function httpServer(body: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_request, response) => response.end(body));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, port: (server.address() as { port: number }).port };
}

/**
 * Fetches http://hostname/ through `client`'s SOCKS port until the body is `expected`, or throws
 * the last error after `timeoutMs`. A fresh SOCKS username per attempt gets a fresh circuit.
 */
export async function fetchUntil(
  client: TestnetClient,
  hostname: string,
  expected: string,
  timeoutMs = 45_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetchThroughSocks({
        proxy: { port: client.socksPort },
        host: hostname,
        port: 80,
        timeoutMs: Math.max(1000, deadline - Date.now()),
      });
      if (response.endsWith(expected)) return;
      last = new Error(`unexpected answer: ${response.slice(0, 100)}`);
    } catch (error) {
      last = error;
    }
    await sleep(300);
  }
  throw last;
}

/** One fetch through `client`'s SOCKS; resolves with the error it failed with, or undefined. */
export async function fetchError(
  client: TestnetClient,
  hostname: string,
  timeoutMs = 30_000,
): Promise<unknown> {
  try {
    await fetchThroughSocks({
      proxy: { port: client.socksPort },
      host: hostname,
      port: 80,
      timeoutMs,
    });
    return undefined;
  } catch (error) {
    return error;
  }
}

// Free TCP ports on 127.0.0.1, for torrc lines that need a number before tor starts (ORPort, DirPort).
import { createServer, type Server } from "node:net";

/**
 * Asks the kernel for `count` distinct free ports, holding them all open until each is known so
 * none repeats. Another process may still take one before tor binds it: callers retry on EADDRINUSE.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let index = 0; index < count; index++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", resolve);
      });
    }
    return servers.map((server) => (server.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

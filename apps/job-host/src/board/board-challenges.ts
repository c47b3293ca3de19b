// What a job host serves boards that verify it: each request's challenge on the worker listener, and the boards' keys let into the onion meanwhile.
import type { IncomingMessage, ServerResponse } from "node:http";
import { challengePath } from "@tormr/protocol/board-api";
import type { OnionClients } from "../master/onion-clients.ts";

interface Served {
  challenge: string;
  /** The board's client-authorization key (base32); null for a board that never fetches. */
  clientAuth: string | null;
}

/**
 * Challenges by request id, served at `challengePath(id)` as plain text. A challenge proves only
 * that this onion answers for the request; it is not secret, and serving it says nothing else.
 */
export class BoardChallenges {
  private readonly served = new Map<string, Served>();

  /** Calls `changed` whenever the set of guest keys changes (the onion must be re-published). */
  constructor(private readonly changed: () => Promise<void> = async () => {}) {}

  async serve(requestId: string, challenge: string, clientAuth: string | null): Promise<void> {
    this.served.set(requestId, { challenge, clientAuth });
    if (clientAuth) await this.changed();
  }

  async withdraw(requestId: string): Promise<void> {
    const had = this.served.get(requestId);
    this.served.delete(requestId);
    if (had?.clientAuth) await this.changed();
  }

  /** The boards' keys added to `clients`: an open onion stays open, a closed one lets them in too. */
  withGuests(clients: OnionClients): OnionClients {
    if (clients.open) return clients;
    const guests = [...this.served.values()].flatMap((s) => (s.clientAuth ? [s.clientAuth] : []));
    if (guests.length === 0) return clients;
    return { open: false, keys: [...new Set([...clients.keys, ...guests])].sort() };
  }

  /** The route for the worker listener: resolves false for other paths. */
  route = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "/").split("?")[0] ?? "";
    if (!path.startsWith(challengePath(""))) return false;
    const id = decodeURIComponent(path.slice(challengePath("").length));
    const served = this.served.get(id);
    if (req.method !== "GET" || !served) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no challenge for this request\n");
      return true;
    }
    res
      .writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" })
      .end(served.challenge);
    return true;
  };
}

// Test helpers for the bucket store: a real store on loopback with its own SQLite database, and grants.
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GrantClaims, issueGrant } from "@tormr/crypto/grant";
import { generateKeyPair, pseudonymOf, type RawKeyPair } from "@tormr/crypto/keys";
import { type JobHostDb, openJobHostDb } from "@tormr/db/job-host";
import { StoreClient } from "@tormr/protocol/store-client";
import { BucketStore } from "../src/store/bucket-store.ts";
import { createStoreServer } from "../src/store/http-server.ts";

export const ISSUER = "host-test";
export const JOB = "job_test_0001";

export interface TestStore {
  dir: string;
  store: BucketStore;
  db: JobHostDb;
  server: Server;
  baseUrl: string;
  hostKey: RawKeyPair;
  /** A client signing with `identity`. */
  client(identity: RawKeyPair): StoreClient;
  /** A grant signed by the host for `worker`; the claims not given default to an empty scope. */
  grant(
    worker: RawKeyPair,
    claims: Partial<Omit<GrantClaims, "iat" | "exp">>,
    options?: { ttlSeconds?: number; now?: number; signer?: RawKeyPair },
  ): Promise<string>;
  close(): Promise<void>;
}

export async function startStore(
  options: { root?: string; idleTimeoutMs?: number } = {},
): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), "tormr-store-"));
  const db = await openJobHostDb(join(dir, "job-host.db"));
  const hostKey = generateKeyPair("Ed25519");
  const store = await BucketStore.open({
    root: options.root ?? join(dir, "buckets"),
    db,
    hostKey,
    issuer: ISSUER,
  });
  const logged: string[] = [];
  const server = createStoreServer(store, {
    log: (m) => logged.push(m),
    ...(options.idleTimeoutMs ? { idleTimeoutMs: options.idleTimeoutMs } : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    dir,
    store,
    db,
    server,
    baseUrl,
    hostKey,
    client: (identity) => new StoreClient({ baseUrl, identity, resumeAttempts: 3 }),
    grant: (worker, claims, grantOptions = {}) =>
      issueGrant(
        grantOptions.signer ?? hostKey,
        {
          iss: ISSUER,
          aud: pseudonymOf(worker.publicKey),
          job: JOB,
          task: "m0",
          attempt: 0,
          read: [],
          write: [],
          maxBytes: 1 << 20,
          ...claims,
        },
        grantOptions,
      ),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.settled();
      await db.$disconnect();
      await rm(dir, { recursive: true, force: true });
      if (logged.length > 0)
        throw new Error(`the store logged unexpected errors:\n${logged.join("\n")}`);
    },
  };
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

export async function* chunksOf(data: Buffer, size = 16 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

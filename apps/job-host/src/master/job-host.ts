// A job host: its database, keys, bucket store and master, with the worker API and the store on one listener.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { loadOrCreateIdentity } from "@tormr/crypto/identity-file";
import { type JobHostDb, openJobHostDb } from "@tormr/db/job-host";
import type { TorControl } from "@tormr/tor/control/tor-control";
import { BoardChallenges } from "../board/board-challenges.ts";
import { BucketStore } from "../store/bucket-store.ts";
import { createStoreServer } from "../store/http-server.ts";
import type { BoardFollower } from "./admin-board.ts";
import { startAdminServer } from "./admin-server.ts";
import { Master } from "./master.ts";
import { onionClients } from "./onion-clients.ts";
import { type MasterSettings, masterSettings } from "./settings.ts";
import type { CheckSandbox } from "./task-check.ts";
import { WorkerOnion } from "./worker-onion.ts";
import { workerRoutes } from "./worker-routes.ts";

export interface JobHostOptions {
  /** Everything the job host keeps: database, keys (0600), buckets and code bundles. */
  stateDir: string;
  /** The worker listener's port on 127.0.0.1; 0 picks a free one. */
  port?: number;
  /** The admin listener's port on 127.0.0.1; 0 picks a free one. */
  adminPort?: number;
  settings?: Partial<MasterSettings>;
  /** Where spot checks and decoys run on the job host (see Master); by default chosen at the first. */
  checkSandbox?: CheckSandbox;
  /** The most one job's buckets may hold, in bytes. Default: no bound but the disk. */
  jobQuotaBytes?: number;
  log?: (event: Record<string, unknown>) => void;
  /**
   * Publish the worker listener as an onion service through this tor (an authenticated control
   * connection, which the caller keeps open and closes). The admin listener is never published.
   */
  tor?: { control: TorControl; uploadTimeoutMs?: number };
}

export interface JobHost {
  /** Where workers connect (the worker API and the bucket store): http://<onion> over Tor. */
  workerUrl: string;
  /** The worker listener on 127.0.0.1 (what the onion forwards to). */
  localWorkerUrl: string;
  /** The worker onion, with Tor. */
  onion: WorkerOnion | undefined;
  /** The admin API (loopback only) and its secret, kept 0600 in the state folder across restarts. */
  adminUrl: string;
  adminSecret: string;
  master: Master;
  store: BucketStore;
  db: JobHostDb;
  /** The challenges boards fetch from the worker onion to verify this host's requests. */
  challenges: BoardChallenges;
  /** tor's control connection, when the host is an onion service. */
  tor: JobHostOptions["tor"];
  /**
   * Makes the onion's client authorization what the jobs' tickets and workers say now, and
   * resolves once it is published (at once without Tor): after it, an admitted key gets in.
   */
  applyOnionClients(): Promise<void>;
  /**
   * Follows board requests for the admin API's `POST /admin/jobs/<id>/board`: set by whoever
   * runs the host (`tormr host`), which knows boards; without it that call is refused.
   */
  boardFollower: BoardFollower | undefined;
  close(): Promise<void>;
}

export async function startJobHost(options: JobHostOptions): Promise<JobHost> {
  const { identity } = await loadOrCreateIdentity(join(options.stateDir, "keys"));
  const db = await openJobHostDb(join(options.stateDir, "job-host.db"));
  let server: Server | undefined;
  let onion: WorkerOnion | undefined;
  try {
    const issuer = `tormr-job-host-${identity.pseudonym.slice(0, 16)}`;
    const store = await BucketStore.open({
      root: join(options.stateDir, "buckets"),
      db,
      hostKey: identity.signing,
      issuer,
      ...(options.jobQuotaBytes !== undefined ? { jobQuotaBytes: options.jobQuotaBytes } : {}),
    });
    // The listener comes first: grants name the store's URL, so the port must be known.
    const routes: { handler?: ReturnType<typeof workerRoutes> } = {};
    const clientsNow = { wanted: async (): Promise<void> => {} };
    const challenges = new BoardChallenges(() => clientsNow.wanted());
    server = createStoreServer(store, {
      routes: async (req, res) =>
        (await challenges.route(req, res)) || ((await routes.handler?.(req, res)) ?? false),
      ...(options.log
        ? { log: (message: string) => options.log?.({ event: "error", message }) }
        : {}),
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once("error", reject);
      listening.listen(options.port ?? 0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as AddressInfo;
    const localWorkerUrl = `http://127.0.0.1:${port}`;
    onion = options.tor
      ? await WorkerOnion.publish(
          {
            control: options.tor.control,
            keyFile: join(options.stateDir, "keys", "worker-onion.json"),
            target: port,
            ...(options.tor.uploadTimeoutMs
              ? { uploadTimeoutMs: options.tor.uploadTimeoutMs }
              : {}),
            ...(options.log ? { log: options.log } : {}),
          },
          // Resumed jobs' workers are known already: they keep access, and nobody else gets it.
          await onionClients(db, masterSettings(options.settings), { resuming: true }),
        )
      : undefined;
    const workerUrl = onion?.url ?? localWorkerUrl;
    const master = await Master.open({
      db,
      store,
      authority: {
        signer: identity.signing,
        wrapping: identity.wrapping,
        issuer,
        storeUrl: workerUrl,
      },
      stateDir: options.stateDir,
      ...(options.settings ? { settings: options.settings } : {}),
      ...(options.checkSandbox ? { checkSandbox: options.checkSandbox } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    routes.handler = workerRoutes(master);
    // Boards verifying a request are let in beside the workers until they have fetched their challenge.
    const wanted = async () => challenges.withGuests(await onionClients(db, master.settings));
    const published = onion;
    if (published) clientsNow.wanted = async () => published.restrict(await wanted());
    const follow = onion?.follow(wanted, {
      events: master,
      periodMs: master.settings.heartbeatMs,
    });
    const adminSecret = await loadOrCreateSecret(join(options.stateDir, "admin-secret"));
    const hooks: { boardFollower?: BoardFollower | undefined } = {};
    const admin = await startAdminServer({
      master,
      db,
      secret: adminSecret,
      port: options.adminPort ?? 0,
      stateDir: options.stateDir,
      ...(options.jobQuotaBytes !== undefined ? { jobQuotaBytes: options.jobQuotaBytes } : {}),
      board: {
        workerUrl,
        onion: onion?.serviceId,
        control: options.tor?.control,
        follower: () => hooks.boardFollower,
      },
    });
    return {
      workerUrl,
      localWorkerUrl,
      onion,
      adminUrl: admin.url,
      adminSecret,
      master,
      store,
      db,
      challenges,
      tor: options.tor,
      applyOnionClients: () => clientsNow.wanted(),
      get boardFollower() {
        return hooks.boardFollower;
      },
      set boardFollower(follower) {
        hooks.boardFollower = follower;
      },
      close: async () => {
        follow?.stop();
        await onion?.close();
        admin.server.closeAllConnections();
        await new Promise((resolve) => admin.server.close(resolve));
        await master.close();
        listening.closeAllConnections();
        await new Promise((resolve) => listening.close(resolve));
        await store.settled();
        await db.$disconnect();
      },
    };
  } catch (error) {
    await onion?.close();
    server?.close();
    await db.$disconnect();
    throw error;
  }
}

/** The admin secret: made once (32 random bytes), then read back on every start. */
async function loadOrCreateSecret(path: string): Promise<string> {
  const existing = await readFile(path, "utf8").catch(() => undefined);
  if (existing?.trim()) return existing.trim();
  const secret = randomBytes(32).toString("base64url");
  await writeFile(path, `${secret}\n`, { mode: 0o600, flag: "wx" }).catch(async (error) => {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  });
  return (await readFile(path, "utf8")).trim();
}

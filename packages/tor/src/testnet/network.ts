// A private Tor network on 127.0.0.1: 3 directory authorities, 4 relays and N clients, each in its own DataDirectory under one temp folder.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TorError } from "../errors.ts";
import { freePorts } from "../free-ports.ts";
import { type TorProcess, waitForBootstrap } from "../tor-process.ts";
import { createAuthorityKeys } from "./authority-keys.ts";
import { launchNode } from "./launch-node.ts";
import type { AuthorityLine, NodeOptionsInput } from "./node-options.ts";
import { waitForOnion } from "./readiness.ts";
import { STATE_VERSION, stopRecorded, type TestnetState, writeState } from "./state.ts";

export interface StartTestnetOptions {
  /** Clients with a SOCKS port (onion hosts are clients too). At least 2, for the readiness check. */
  clients?: number;
  /** The parent of the network's own temporary folder (os.tmpdir() by default). */
  parentDir?: string;
  torBinary?: string;
  /** tors outlive this process (for `tormr-testnet up`); otherwise they exit when it does. */
  detached?: boolean;
  /**
   * The process whose end makes every tor exit (__OwningControllerProcess): this one by default,
   * none when `detached`. A detached network can name another, such as the test script's shell.
   */
  ownerPid?: number;
  /** Called with the network's folder as soon as it exists, before any tor starts (for signal handlers). */
  onDir?: (dir: string) => void;
  /** How long the test onion may take to answer. */
  readyTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

export interface Testnet {
  dir: string;
  state: TestnetState;
  /** The clients' processes, with authenticated control connections. */
  clients: TorProcess[];
  /** Stops every tor the network started and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

const AUTHORITIES = 3;
const RELAYS = 4;

/**
 * Starts the network and returns once a throwaway onion service on the first client answers an
 * HTTP request through the last client's SOCKS port. On any failure, everything started is stopped.
 */
export async function startTestnet(options: StartTestnetOptions = {}): Promise<Testnet> {
  const clientCount = options.clients ?? 2;
  if (!Number.isInteger(clientCount) || clientCount < 2) {
    throw new TorError("ERR_TOR_ARGUMENT", `expected at least 2 clients, got ${clientCount}`);
  }
  const progress = options.onProgress ?? (() => {});
  const started = Date.now();
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), "tormr-testnet-"));
  const emptyFile = join(dir, "empty");
  await writeFile(emptyFile, "");
  options.onDir?.(dir);
  const ownerPid = options.ownerPid ?? (options.detached ? undefined : process.pid);
  const processes: TorProcess[] = [];
  const nodes: string[] = [];
  const launch = async (node: NodeOptionsInput) => {
    nodes.push(node.nickname);
    const tor = await launchNode({
      dir,
      node,
      torBinary: options.torBinary,
      ownerPid,
      detached: options.detached,
    });
    processes.push(tor);
    // Only the clients' control connections are used after start; the others would hold this process open.
    if (node.role !== "client") await tor.control.close();
    return tor;
  };

  try {
    const ports = await freePorts(2 * (AUTHORITIES + RELAYS));
    const port = (index: number) => ports[index] as number;
    progress("making authority keys");
    const authorities: AuthorityLine[] = await Promise.all(
      Array.from({ length: AUTHORITIES }, async (_, index) => {
        const orPort = port(2 * index);
        const dirPort = port(2 * index + 1);
        const keys = await createAuthorityKeys(
          join(dir, `auth${index}`),
          dirPort,
          orPort,
          options.torBinary,
        );
        return { nickname: `auth${index}`, orPort, dirPort, ...keys };
      }),
    );
    progress(`starting ${AUTHORITIES} authorities, ${RELAYS} relays and ${clientCount} clients`);
    const base = { authorities, emptyFile };
    const clients = await Promise.all([
      ...authorities.map((a) =>
        launch({
          ...base,
          role: "authority",
          nickname: a.nickname,
          orPort: a.orPort,
          dirPort: a.dirPort,
        }),
      ),
      ...Array.from({ length: RELAYS }, (_, index) => {
        const offset = 2 * (AUTHORITIES + index);
        return launch({
          ...base,
          role: "relay",
          nickname: `relay${index}`,
          orPort: port(offset),
          dirPort: port(offset + 1),
        });
      }),
    ]).then(() =>
      Promise.all(
        Array.from({ length: clientCount }, (_, index) =>
          launch({ ...base, role: "client", nickname: `client${index}` }),
        ),
      ),
    );
    await Promise.all(
      clients.map((client, index) =>
        waitForBootstrap(client.control, {
          timeoutMs: 90_000,
          onProgress: (phase) =>
            progress(`client${index} bootstrap ${phase.progress}% ${phase.tag}`),
        }),
      ),
    );
    const bootstrapped = Date.now() - started;
    progress(`clients bootstrapped after ${bootstrapped} ms; waiting for a test onion to answer`);
    const host = clients[0] as TorProcess;
    const visitor = clients[clients.length - 1] as TorProcess;
    if (!visitor.socks)
      throw new TorError("ERR_TESTNET", "the visiting client has no SOCKS listener");
    const onionMs = await waitForOnion(host.control, visitor.socks, {
      timeoutMs: options.readyTimeoutMs ?? 90_000,
      onAttempt: (error) => progress(`test onion not yet reachable: ${error.message}`),
    });
    progress(`test onion answered ${onionMs} ms after it was published`);
    const state: TestnetState = {
      version: STATE_VERSION,
      dir,
      startedAt: new Date(started).toISOString(),
      bootstrapMs: Date.now() - started,
      nodes,
      authorities,
      emptyFile,
      clients: clients.map((client, index) => ({
        name: `client${index}`,
        controlPort: client.controlPort,
        socksPort: client.socks?.port ?? 0,
        dataDirectory: client.dataDirectory,
      })),
    };
    await writeState(state);
    let stopped = false;
    return {
      dir,
      state,
      clients,
      async stop() {
        if (stopped) return;
        stopped = true;
        await Promise.all(processes.map((tor) => tor.control.close()));
        await stopRecorded(dir);
      },
    };
  } catch (error) {
    await Promise.all(processes.map((tor) => tor.control.close()));
    await stopRecorded(dir, { keep: true });
    throw error;
  }
}

// One more client in a running test network, for a test (or a person) that needs a tor of its own, and its removal.
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { TorError } from "../errors.ts";
import { stopPid, type TorProcess, waitForBootstrap } from "../tor-process.ts";
import { launchNode } from "./launch-node.ts";
import {
  networkProblem,
  readState,
  recordedTors,
  type TestnetClient,
  type TestnetState,
} from "./state.ts";

export interface AddTestnetClientOptions {
  /** Its nickname, folder and pid file name: 1 to 19 letters and digits. The next free `clientN` by default. */
  name?: string;
  torBinary?: string;
  /** The tor outlives this process (for `tormr-testnet add-client`); otherwise it exits when this process does. */
  detached?: boolean;
  bootstrapTimeoutMs?: number;
  onProgress?: (message: string) => void;
}

export interface AddedTestnetClient {
  client: TestnetClient;
  /** With an authenticated control connection. */
  tor: TorProcess;
  /** Stops the tor and removes its pid file and folder. Safe to call twice. */
  stop(): Promise<void>;
}

/** tor's Nickname rule (tor-spec's relay nicknames): 1 to 19 ASCII letters and digits. */
export const NODE_NAME = /^[A-Za-z0-9]{1,19}$/;

/** Makes the client's folder, failing if the name is taken: mkdir is the lock between processes adding at once. */
async function claimName(state: TestnetState, name: string | undefined): Promise<string> {
  const claim = async (candidate: string) => {
    try {
      await mkdir(join(state.dir, candidate), { mode: 0o700 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
  };
  if (name !== undefined) {
    if (!NODE_NAME.test(name)) {
      throw new TorError(
        "ERR_TOR_ARGUMENT",
        `expected a client name of 1 to 19 letters and digits, got ${JSON.stringify(name)}`,
      );
    }
    if (!(await claim(name))) {
      throw new TorError("ERR_TESTNET", `${state.dir} already has a node named ${name}`);
    }
    return name;
  }
  for (let index = state.clients.length; ; index++) {
    if (await claim(`client${index}`)) return `client${index}`;
  }
}

/** `error`, with the end of tor's log added, since the folder holding the log is about to go. */
async function withLogTail(error: unknown, dataDirectory: string): Promise<TorError> {
  const log = await readFile(join(dataDirectory, "notice.log"), "utf8").catch(() => "");
  const tail = log.trim().split("\n").slice(-3).join(" | ");
  const code = error instanceof TorError ? error.code : "ERR_TESTNET";
  const message = error instanceof Error ? error.message : String(error);
  return new TorError(code, `${message}; ${dataDirectory}/notice.log ended: ${tail}`, {
    cause: error,
  });
}

/**
 * Starts a client with the options of the network's own clients (UseEntryGuards 0, SocksPort
 * with ExtendedErrors, ControlPort with cookie authentication), records its pid file in the
 * network's folder (so `tormr-testnet down` and the test setup's kill handlers stop it too) and
 * resolves once it has bootstrapped. In a running network that takes about 3 s.
 * @throws TorError ERR_TESTNET when the network is not running or the name is taken, and
 * launchTor's and waitForBootstrap's errors (with the end of the client's log).
 */
export async function addTestnetClient(
  network: string | TestnetState,
  options: AddTestnetClientOptions = {},
): Promise<AddedTestnetClient> {
  const state = typeof network === "string" ? await readState(network) : network;
  const problem = await networkProblem(state);
  if (problem) throw new TorError("ERR_TESTNET", `cannot add a client to ${state.dir}: ${problem}`);
  const name = await claimName(state, options.name);
  const progress = options.onProgress ?? (() => {});
  const started = Date.now();
  let tor: TorProcess | undefined;
  try {
    progress(`starting ${name}`);
    tor = await launchNode({
      dir: state.dir,
      node: {
        role: "client",
        nickname: name,
        authorities: state.authorities,
        emptyFile: state.emptyFile,
      },
      torBinary: options.torBinary,
      ownerPid: options.detached ? undefined : process.pid,
      detached: options.detached,
    });
    await waitForBootstrap(tor.control, {
      timeoutMs: options.bootstrapTimeoutMs ?? 30_000,
      onProgress: (phase) => progress(`${name} bootstrap ${phase.progress}% ${phase.tag}`),
    }).catch(async (error: unknown) => {
      throw await withLogTail(error, join(state.dir, name));
    });
    if (!tor.socks) throw new TorError("ERR_TESTNET", `${name} opened no SOCKS listener`);
  } catch (error) {
    await tor?.control.close();
    await removeTestnetClient(state, name);
    throw error;
  }
  progress(`${name} bootstrapped in ${Date.now() - started} ms`);
  const added = tor;
  let stopping: Promise<void> | undefined;
  return {
    client: {
      name,
      controlPort: added.controlPort,
      socksPort: added.socks?.port ?? 0,
      dataDirectory: added.dataDirectory,
    },
    tor: added,
    stop() {
      stopping ??= added.stop(3000).then(() => removeTestnetClient(state, name));
      return stopping;
    },
  };
}

/**
 * Stops a client added to `state`'s network (by its pid file, so from any process) and removes
 * its pid file and folder. The network's own tors are refused: `tormr-testnet down` stops those.
 */
export async function removeTestnetClient(state: TestnetState, name: string): Promise<void> {
  if (state.nodes.includes(name) || !NODE_NAME.test(name)) {
    throw new TorError("ERR_TOR_ARGUMENT", `expected an added client's name, got ${name}`);
  }
  const recorded = (await recordedTors(state.dir)).find((tor) => tor.name === name);
  if (recorded?.alive) await stopPid(recorded.pid, 3000);
  await rm(join(state.dir, "pids", name), { force: true });
  await rm(join(state.dir, name), { recursive: true, force: true });
}

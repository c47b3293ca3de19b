// A vitest globalSetup for every workspace's Tor suites: the run's shared private Tor network (TORMR_TESTNET_DIR), or one of its own.
//
// In a workspace's vitest.config.ts: `globalSetup: ["../../packages/tor/src/testnet/vitest-setup.ts"]`;
// in its tests: `import type {} from "…/packages/tor/src/testnet/vitest-setup.ts"` for the typing of
// `inject("testnet")`, and `addTestnetClient(inject("testnet"))` for a tor of a test's own.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { processAlive } from "../tor-process.ts";
import { removeTestnetClient } from "./add-client.ts";
import { startTestnet } from "./network.ts";
import {
  killRecordedSync,
  networkProblem,
  type RecordedTor,
  readState,
  recordedTors,
  type TestnetState,
} from "./state.ts";

export type { TestnetState };

declare module "vitest" {
  export interface ProvidedContext {
    /** The run's private Tor network (packages/tor/src/testnet/vitest-setup.ts). */
    testnet: TestnetState;
  }
}

type Teardown = () => Promise<void>;

function assertTorInstalled(): void {
  // Never skipped: a missing tor fails the run, in CI and out of it.
  if (spawnSync("tor", ["--version"], { stdio: "ignore" }).status !== 0) {
    throw new Error(
      "tor is not installed, and these tests need a private Tor network: run 'npm run setup'",
    );
  }
}

/** Installs `kill` for 'exit', SIGINT and SIGTERM (then dies of the signal); returns their removal. */
function onExit(kill: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    process.kill(process.pid, signal);
  };
  process.once("exit", kill);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("exit", kill);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

const list = (tors: RecordedTor[]) => tors.map((tor) => `${tor.name} (pid ${tor.pid})`).join(", ");

/**
 * Throws one error naming every tor still running of those this setup stopped (they were alive
 * before it, so their pids are still theirs), every added client the tests did not stop, and any
 * other `problems`.
 */
function assertCleanedUp(stopped: RecordedTor[], leaked: RecordedTor[], problems: string[] = []) {
  const left = stopped.filter((tor) => processAlive(tor.pid));
  const all = [
    left.length > 0 ? `${left.length} tors still running after teardown: ${list(left)}` : "",
    leaked.length > 0
      ? `the tests left ${leaked.length} added clients behind (stopped now): ${list(leaked)}; call stop() on what addTestnetClient returns`
      : "",
    ...problems,
  ].filter(Boolean);
  if (all.length > 0) {
    // vitest 4 only logs a teardown's error ("error during close") and still exits 0.
    process.exitCode = 1;
    throw new Error(all.join("; "));
  }
}

/** The network TORMR_TESTNET_DIR names: never stopped here, but clients the tests added are. */
async function useShared(project: TestProject, state: TestnetState): Promise<Teardown> {
  const before = new Set((await recordedTors(state.dir)).map((tor) => tor.name));
  const added = (name: string) => !before.has(name);
  const off = onExit(() => killRecordedSync(state.dir, added));
  console.log(`using the private Tor network at ${state.dir} (TORMR_TESTNET_DIR); it stays up`);
  project.provide("testnet", state);
  return async () => {
    off();
    const leaked = (await recordedTors(state.dir)).filter((tor) => added(tor.name));
    await Promise.all(leaked.map((tor) => removeTestnetClient(state, tor.name)));
    assertCleanedUp(
      leaked.filter((tor) => tor.alive),
      leaked,
    );
  };
}

/** A network of this run's own, under its own parent folder, stopped (every tor of it) at teardown. */
async function startOwn(project: TestProject): Promise<Teardown> {
  // A run interrupted even while the network starts still stops its tors: the handlers are in place
  // first and look at every network folder under this run's own parent folder.
  // __OwningControllerProcess (tor exits when this process is gone) is the last backstop.
  const parentDir = mkdtempSync(join(tmpdir(), "tormr-tor-tests-"));
  const off = onExit(() => {
    for (const name of readdirSync(parentDir)) killRecordedSync(join(parentDir, name));
    rmSync(parentDir, { recursive: true, force: true });
  });
  const started = Date.now();
  const testnet = await startTestnet({ clients: 3, parentDir });
  console.log(`private Tor network ready in ${Date.now() - started} ms (${testnet.dir})`);
  project.provide("testnet", testnet.state);
  return async () => {
    const tors = await recordedTors(testnet.dir);
    const own = new Set(testnet.state.nodes);
    const exited = tors.filter((tor) => own.has(tor.name) && !tor.alive);
    await testnet.stop();
    rmSync(parentDir, { recursive: true, force: true });
    off();
    assertCleanedUp(
      tors.filter((tor) => tor.alive),
      tors.filter((tor) => !own.has(tor.name)),
      exited.length > 0
        ? [`${exited.length} tors had exited before teardown: ${list(exited)}`]
        : [],
    );
    console.log(`stopped the ${tors.length} tors of the private network`);
  };
}

export default async function setup(project: TestProject): Promise<Teardown> {
  assertTorInstalled();
  const dir = process.env.TORMR_TESTNET_DIR?.trim();
  if (dir) {
    const state = await readState(dir).catch((error: Error) => error);
    const problem = state instanceof Error ? state.message : await networkProblem(state);
    if (!problem && !(state instanceof Error)) return useShared(project, state);
    console.warn(
      `TORMR_TESTNET_DIR=${dir} is not a running test network (${problem}); starting one for this run`,
    );
  }
  return startOwn(project);
}

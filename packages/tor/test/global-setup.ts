// One private Tor network for the whole test run (it takes ~20 s to start), handed to the tests with provide/inject.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startTestnet } from "../src/testnet/network.ts";
import { killRecordedSync, livePids, type TestnetState } from "../src/testnet/state.ts";

declare module "vitest" {
  export interface ProvidedContext {
    testnet: TestnetState;
  }
}

function torInstalled(): boolean {
  return spawnSync("tor", ["--version"], { stdio: "ignore" }).status === 0;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Never skipped: a missing tor fails the run, in CI and out of it.
  if (!torInstalled()) {
    throw new Error(
      "tor is not installed, and these tests need a private Tor network: run 'npm run setup'",
    );
  }
  // A run interrupted even while the network starts still stops its tors: the handlers are in place
  // first and look at every network folder under this run's own parent folder.
  // __OwningControllerProcess (tor exits when this process is gone) is the last backstop.
  const parentDir = mkdtempSync(join(tmpdir(), "tormr-tor-tests-"));
  const kill = () => {
    for (const name of readdirSync(parentDir)) killRecordedSync(join(parentDir, name));
  };
  const onSignal = (signal: NodeJS.Signals) => {
    kill();
    rmSync(parentDir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once("exit", kill);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const started = Date.now();
  const testnet = await startTestnet({ clients: 3, parentDir });
  console.log(`private Tor network ready in ${Date.now() - started} ms (${testnet.dir})`);
  project.provide("testnet", testnet.state);
  return async () => {
    await Promise.all(testnet.clients.map((client) => client.control.close()));
    const before = await livePids(testnet.dir);
    await testnet.stop();
    rmSync(parentDir, { recursive: true, force: true });
    process.off("exit", kill);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    const left = before.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (before.length !== 10 || left.length > 0) {
      throw new Error(
        `expected 10 tors stopped, had ${before.length} running and ${left.length} left: ${left}`,
      );
    }
    console.log(`stopped the ${before.length} tors of the private network`);
  };
}

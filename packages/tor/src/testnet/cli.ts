// tormr-testnet: start, inspect and stop a private Tor network on 127.0.0.1 by hand.
import { rmSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { TorError } from "../errors.ts";
import { addTestnetClient, NODE_NAME } from "./add-client.ts";
import { startTestnet } from "./network.ts";
import { killRecordedSync, livePids, readState, stopRecorded } from "./state.ts";

/** The networks' folders: the one given, or every tormr-testnet-* folder in the temp folder. */
async function networkDirs(dir: string | undefined): Promise<string[]> {
  if (dir) return [dir];
  const names = await readdir(tmpdir()).catch(() => [] as string[]);
  return names
    .filter((name) => name.startsWith("tormr-testnet-"))
    .map((name) => join(tmpdir(), name));
}

function atLeastTwo(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 2)
    throw new InvalidArgumentError(`expected an integer of 2 or more, got ${value}`);
  return parsed;
}

function processId(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a process id, got ${value}`);
  return parsed;
}

function nodeName(value: string): string {
  if (!NODE_NAME.test(value))
    throw new InvalidArgumentError(`expected 1 to 19 letters and digits, got ${value}`);
  return value;
}

const progress = (message: string) => console.error(`tormr-testnet: ${message}`);

/**
 * While a network starts, an interrupt kills its detached tors and removes its folder: nothing
 * else knows the folder yet. `setDir` names it once made; `off` removes the handlers.
 */
function stopOnSignal(): {
  setDir: (dir: string) => void;
  dir: () => string | undefined;
  off: () => void;
} {
  let dir: string | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (dir) {
      killRecordedSync(dir);
      rmSync(dir, { recursive: true, force: true });
    }
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return {
    setDir: (value) => {
      dir = value;
    },
    dir: () => dir,
    off: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Runs the CLI; resolves with the exit code (0 ok, 1 failed, 2 bad arguments). */
export async function main(argv: string[]): Promise<number> {
  const program = new Command("tormr-testnet")
    .description(
      "A private Tor network on 127.0.0.1: 3 directory authorities, 4 relays and clients",
    )
    .exitOverride();
  let code = 0;
  program
    .command("up")
    .description(
      "start a network in a new temp folder, wait until a test onion answers, print its clients' ports as JSON",
    )
    .option("--clients <n>", "clients with SOCKS and control ports", atLeastTwo, 2)
    .option(
      "--owner-pid <pid>",
      "the tors exit on their own once this process is gone (e.g. a test script's shell)",
      processId,
    )
    .action(async (options: { clients: number; ownerPid?: number }) => {
      const signals = stopOnSignal();
      try {
        const testnet = await startTestnet({
          clients: options.clients,
          detached: true,
          ownerPid: options.ownerPid,
          onDir: signals.setDir,
          onProgress: progress,
        });
        await Promise.all(testnet.clients.map((client) => client.control.close()));
        console.log(JSON.stringify(testnet.state, null, 2));
        progress(`up; stop it with 'tormr-testnet down --dir ${testnet.dir}'`);
      } catch (error) {
        // startTestnet stopped its tors and kept their folder, for the logs.
        if (signals.dir()) progress(`the tors' logs are kept in ${signals.dir()}`);
        throw error;
      } finally {
        signals.off();
      }
    });
  program
    .command("add-client")
    .description(
      "start one more client in a running network, wait for its bootstrap, print its ports as JSON",
    )
    .requiredOption("--dir <folder>", "the network's folder (the dir printed by 'up')")
    .option(
      "--name <name>",
      "its nickname and folder name (default: the next free clientN)",
      nodeName,
    )
    .action(async (options: { dir: string; name?: string }) => {
      const added = await addTestnetClient(options.dir, {
        name: options.name,
        detached: true,
        onProgress: progress,
      });
      await added.tor.control.close();
      console.log(JSON.stringify(added.client, null, 2));
      progress(`${added.client.name} up; 'tormr-testnet down --dir ${options.dir}' stops it too`);
    });
  program
    .command("status")
    .description("list the networks and how many of their tors run")
    .option(
      "--dir <folder>",
      "one network's folder (default: every tormr-testnet-* in the temp folder)",
    )
    .action(async (options: { dir?: string }) => {
      const dirs = await networkDirs(options.dir);
      if (dirs.length === 0) console.log("no test network");
      for (const dir of dirs) {
        const running = (await livePids(dir)).length;
        const state = await readState(dir).catch(() => undefined);
        const clients =
          state?.clients.map((c) => `${c.name} socks=${c.socksPort} control=${c.controlPort}`) ??
          [];
        console.log(
          [`${dir}: ${running} tors running`, ...clients.map((line) => `  ${line}`)].join("\n"),
        );
      }
    });
  program
    .command("down")
    .description("stop every tor of the network(s) and remove their folders")
    .option(
      "--dir <folder>",
      "one network's folder (default: every tormr-testnet-* in the temp folder)",
    )
    .action(async (options: { dir?: string }) => {
      for (const dir of await networkDirs(options.dir)) {
        console.log(`${dir}: stopped ${await stopRecorded(dir)} tors`);
      }
    });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (commanderCode === "commander.helpDisplayed" || commanderCode === "commander.version")
      return 0;
    if (typeof commanderCode === "string" && commanderCode.startsWith("commander.")) return 2;
    const message = error instanceof TorError ? error.message : String(error);
    console.error(`tormr-testnet: ${message}`);
    code = 1;
  }
  return code;
}

// tormr-testnet: start, inspect and stop a private Tor network on 127.0.0.1 by hand.
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { TorError } from "../errors.ts";
import { startTestnet } from "./network.ts";
import { livePids, readState, stopRecorded } from "./state.ts";

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
    .action(async (options: { clients: number }) => {
      const testnet = await startTestnet({
        clients: options.clients,
        detached: true,
        onProgress: (message) => console.error(`tormr-testnet: ${message}`),
      });
      await Promise.all(testnet.clients.map((client) => client.control.close()));
      console.log(JSON.stringify(testnet.state, null, 2));
      console.error(`tormr-testnet: up; stop it with 'tormr-testnet down --dir ${testnet.dir}'`);
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

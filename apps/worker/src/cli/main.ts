// The tormr-worker command: commander parses, one function per command does the work.
import { Command, CommanderError } from "commander";
import { z } from "zod";
import packageJson from "../../package.json" with { type: "json" };
import { readEnv } from "../env.ts";
import { formatCommanderError } from "./commander-message.ts";
import { EXIT, reportError } from "./exit-codes.ts";
import { PROGRAM_HELP, START_HELP } from "./help-text.ts";
import { identityCommand } from "./identity-command.ts";
import type { CliIo } from "./io.ts";
import { machineProbes } from "./pick-sandbox.ts";
import { startCommand } from "./start-command.ts";
import { statusCommand } from "./status-command.ts";

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    env: readEnv(process.env),
    pid: process.pid,
    now: () => new Date(),
    loadWorkerLoop: async () => (await import("../worker-loop.ts")).runWorkerLoop,
    probes: machineProbes,
    signals: process,
    exit: (code) => process.exit(code),
  };
}

const text = z.string().optional();
const flag = z.boolean().optional();
/** What commander hands each action, checked before use. */
const startOptions = z.object({
  board: text,
  jobHost: text,
  ticket: text,
  tor: flag,
  transport: text,
  torControl: text,
  torSocks: text,
  config: text,
  configDir: text,
  slots: text,
  memoryMb: text,
  cpus: text,
  pids: text,
  sandbox: text,
  dockerHost: text,
  workDir: text,
  diskQuotaMb: text,
  unsafeNoSandbox: flag,
  yes: flag,
});
const identityOptions = z.object({ configDir: text, json: flag });
const statusOptions = z.object({ workDir: text, config: text, configDir: text, json: flag });

function createProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command("tormr-worker")
    .description("Run map and reduce tasks of a TorMR job in a sandbox, as a volunteer.")
    .version(packageJson.version, "-V, --version", "Print the tormr-worker version.")
    .helpOption("-h, --help", "Show this help.")
    .helpCommand("help [command]", "Show the help of a command.")
    .showSuggestionAfterError(true)
    .exitOverride()
    .addHelpText("after", PROGRAM_HELP);
  const output = (cmd: Command, name: string) =>
    cmd.configureOutput({
      writeOut: (t) => io.stdout.write(t),
      writeErr: (t) => io.stderr.write(t),
      outputError: (t, write) => write(formatCommanderError(t, name)),
    });
  output(program, "tormr-worker");

  const start = program
    .command("start")
    .summary("Join a job with a ticket, or wait on a board for jobs, and run their tasks.")
    .description(
      "Join the job a ticket is for and run its tasks in a sandbox until it is over; or, with " +
        "--board, wait on a bulletin board for a seat in a cluster, run that job, and wait again.",
    )
    .option("--board <onion>", "a board to volunteer on: xxxx.onion (or http://127.0.0.1:port)")
    .option("--job-host <url>", "the job host's worker URL, from the requester")
    .option("--ticket <ticket>", "the one-time join ticket (43 characters), from the requester")
    .option("--tor", "reach the job host or board through tor (the default for a .onion URL)")
    .option("--transport <kind>", "tor or direct (default: tor for .onion, direct for 127.0.0.1)")
    .option(
      "--tor-control <[host:]port>",
      "tor's control port (default 9051, or TORMR_TOR_CONTROL)",
    )
    .option("--tor-socks <[host:]port>", "tor's SOCKS port (default: the one tor reports)")
    .option("--config <file>", "config file (default <config-dir>/config.json)")
    .option("--config-dir <dir>", "identity and config (default ~/.config/tormr-worker)")
    .option("--slots <n>", "tasks at once")
    .option("--memory-mb <n>", "memory per task, MiB")
    .option("--cpus <n>", "CPU share per task")
    .option("--pids <n>", "processes per task")
    .option("--sandbox <kind>", "auto, docker or bwrap")
    .option("--docker-host <url>", "the Docker daemon (default DOCKER_HOST)")
    .option("--work-dir <dir>", "where tasks keep their data")
    .option("--disk-quota-mb <n>", "free space the work folder needs, MiB")
    .option("--unsafe-no-sandbox", "run the job's code with no sandbox at all (loud warning)")
    .option("-y, --yes", "join without asking (needed when stdin is not a terminal)")
    .addHelpText("after", START_HELP)
    .action(async (options: unknown) => {
      setExit(await startCommand(startOptions.parse(options), io));
    });
  output(start, "tormr-worker start");

  const identity = program
    .command("identity")
    .summary("Print this worker's pseudonym and public keys (made on first use).")
    .description(
      "Print the pseudonym and public keys job hosts know this worker by; private keys are " +
        "never printed. The identity is made on first use.",
    )
    .option("--config-dir <dir>", "where the identity lives (default ~/.config/tormr-worker)")
    .option("--json", "print one JSON object")
    .action(async (options: unknown) => {
      setExit(await identityCommand(identityOptions.parse(options), io));
    });
  output(identity, "tormr-worker identity");

  const status = program
    .command("status")
    .summary("Show what the worker in a work folder is doing.")
    .description(
      "Read the status.json that 'start' keeps in its work folder and say whether that worker " +
        "still runs. Exit 0 when it does, 7 when it does not.",
    )
    .option("--work-dir <dir>", "the worker's work folder (default from the config)")
    .option("--config <file>", "config file to take workDir from")
    .option("--config-dir <dir>", "folder of the default config file")
    .option("--json", "print one JSON object")
    .action(async (options: unknown) => {
      setExit(await statusCommand(statusOptions.parse(options), io));
    });
  output(status, "tormr-worker status");
  return program;
}

/** Runs the CLI on the words after `tormr-worker` and resolves with the process exit code. */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  if (args.length === 0) {
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (error) {
    // Commander has already printed its help, version or error text.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const report = reportError(error, { debug: io.env.debug });
    io.stderr.write(`${report.line}\n${report.stack ? `${report.stack}\n` : ""}`);
    return report.exitCode;
  }
}

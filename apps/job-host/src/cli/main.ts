// The tormr command: commander dispatches, the Hadoop-grammar parsers read each command's flags.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { formatCommanderError } from "./commander-message.ts";
import { COMMANDS, type CommandDoc } from "./commands.ts";
import { addConsoleCommand } from "./console-command.ts";
import { EXIT, reportError } from "./exit-codes.ts";
import { commandHelp, EXIT_CODES_HELP } from "./help-text.ts";
import { addHostCommand } from "./host-command.ts";
import type { InterruptWatch } from "./interrupt.ts";
import type { RunLocalJob } from "./run-job.ts";
import { addVerifyCommand } from "./verify-command.ts";

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  cwd: string;
  /** TORMR_DEBUG=1 adds stack traces to internal errors. */
  debug: boolean;
  /**
   * Loaded only when a job runs, so --help and usage errors never load the engine. `local`: the
   * in-process pool; otherwise a job host with tormr-worker processes.
   */
  loadRunner: (how: { local: boolean; jobHost?: string | undefined }) => Promise<RunLocalJob>;
  watchInterrupts?: () => InterruptWatch;
}

function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    debug: process.env.TORMR_DEBUG === "1",
    loadRunner: async ({ local, jobHost }) => {
      if (local) return (await import("../local/run-local-job.ts")).runLocalJob;
      if (jobHost) {
        const { submitJob } = await import("../cluster/submit-job.ts");
        const stateDir = resolve(process.cwd(), jobHost);
        return (spec, options) =>
          submitJob(spec, {
            stateDir,
            tickets: options.workers ?? 3,
            print: (line) => process.stderr.write(`${line}\n`),
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
      }
      const { runClusterJob } = await import("../cluster/run-cluster-job.ts");
      const { startPrivateTor } = await import("../cluster/private-tor.ts");
      return async (spec, options) => {
        const workers = options.workers ?? 1;
        const tor = options.tor
          ? await startPrivateTor(workers, (line) => process.stderr.write(`tor: ${line}\n`))
          : undefined;
        try {
          return await runClusterJob(spec, {
            workers,
            sandbox: options.sandbox?.kind ?? "none",
            ...(tor ? { tor } : {}),
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
        } finally {
          await tor?.stop();
        }
      };
    },
  };
}

function readVersion(): string {
  const url = new URL("../../package.json", import.meta.url);
  const pkg: unknown = JSON.parse(readFileSync(url, "utf8"));
  const version = (pkg as { version?: unknown }).version;
  return typeof version === "string" ? version : "0.0.0";
}

function createProgram(io: CliIo, setExit: (code: number) => void): Command {
  const terms = new Map(COMMANDS.map((doc) => [doc.name, doc.term]));
  const program = new Command("tormr")
    .description("Run Hadoop Streaming and JavaScript MapReduce jobs with local worker processes.")
    .version(readVersion(), "-V, --version", "Print the tormr version.")
    .helpOption("-h, --help", "Show this help.")
    .helpCommand("help [command]", "Show the help of a command.")
    // Options after the command name belong to the command, not to tormr (`-h`, `-V`).
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(formatCommanderError(text)),
    })
    .configureHelp({
      subcommandTerm: (cmd) => `${cmd.name()} ${terms.get(cmd.name()) ?? "[command]"}`,
    })
    .addHelpText(
      "after",
      `\nRun 'tormr <command> --help' for its flags.\n\n${EXIT_CODES_HELP.join("\n")}`,
    );

  const addCommand = (doc: CommandDoc) => {
    // Hadoop's grammar (-input, -Dk=v) is not commander's, so the command takes its words raw.
    const cmd = program
      .command(doc.name)
      .usage(doc.usage)
      .summary(doc.summary)
      .description(doc.description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument("[args...]")
      .addHelpText("after", commandHelp(doc));
    cmd.action(async (args: string[]) => {
      const parsed = doc.parse(args);
      if (parsed.command === "help") {
        cmd.outputHelp();
        return;
      }
      const runLocalJob = await io.loadRunner({ local: parsed.local, jobHost: parsed.jobHost });
      const { runJob } = await import("./run-job.ts");
      setExit(await runJob(parsed, { ...io, runLocalJob }));
    });
  };
  for (const doc of COMMANDS) addCommand(doc);
  addHostCommand(program, io, setExit);
  addConsoleCommand(program, io, setExit);
  addVerifyCommand(program, io, setExit);
  return program;
}

/** Runs the CLI on the words after `tormr` and resolves with the process exit code. */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = createProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (error) {
    // Commander has already printed its help, version or error text.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const report = reportError(error, { debug: io.debug });
    io.stderr.write(`${[report.line, ...report.details].join("\n")}\n`);
    return report.exitCode;
  }
}

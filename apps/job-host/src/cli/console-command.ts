// `tormr console`: the requester console for a running job host, on its own 127.0.0.1 port; it prints a URL that opens it once.
import { resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { defaultStateDir } from "./host-command.ts";
import { watchInterrupts } from "./interrupt.ts";
import type { CliIo } from "./main.ts";
import { parseOptions } from "./usage-error.ts";

const optionsSchema = z.object({
  stateDir: z.string().min(1),
  port: z
    .string()
    .regex(/^\d{1,5}$/, "expected a port from 0 to 65535")
    .transform(Number)
    .pipe(z.number().max(65535, "expected a port from 0 to 65535")),
  sandbox: z.enum(["bwrap", "docker", "none"], "expected bwrap, docker or none"),
});

export function addConsoleCommand(program: Command, io: CliIo, setExit: (code: number) => void) {
  program
    .command("console")
    .summary("Open the requester console in a browser: create, watch and collect jobs.")
    .description(
      "Serve the requester console for the job host running on --state-dir, on its own 127.0.0.1 " +
        "port (never an onion service). It prints a URL holding a one-time key: open it in a " +
        "browser on this machine. Runs until SIGINT or SIGTERM.",
    )
    .option("--state-dir <dir>", "the running job host's state folder", defaultStateDir())
    .option("--port <n>", "the console's port on 127.0.0.1 (0: any free port)", "0")
    .option(
      "--sandbox <kind>",
      "the sandbox of the workers the console starts on this machine: bwrap, docker, or none (runs the job's code unsandboxed)",
      "bwrap",
    )
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(optionsSchema, raw, "see tormr console --help");
      setExit(await runConsole(options, io));
    });
}

async function runConsole(options: z.infer<typeof optionsSchema>, io: CliIo): Promise<ExitCode> {
  const { serveConsole } = await import("@tormr/web/cli/console");
  const watch = watchInterrupts();
  try {
    const code = await serveConsole({
      stateDir: resolve(io.cwd, options.stateDir),
      port: options.port,
      sandbox: options.sandbox,
      say: (line) => io.stderr.write(`tormr: ${line}\n`),
      onUrl: (url) => {
        io.stdout.write(`console: ${url}\n`);
        io.stderr.write(
          "tormr: open that URL in a browser on this machine; it works once (run 'tormr console' again for a new one). Ctrl-C stops the console.\n",
        );
      },
      stopped: watch.interrupted,
    });
    return code === 0 ? EXIT.ok : EXIT.internal;
  } finally {
    watch.dispose();
  }
}

// `tormr console`: the requester console on its own loopback listener, beside a job host, until SIGINT or SIGTERM.
import { resolve } from "node:path";
import type { Command } from "commander";
import { z } from "zod";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { defaultStateDir } from "./host-command.ts";
import { watchInterrupts } from "./interrupt.ts";
import type { CliIo } from "./main.ts";
import { UsageError } from "./usage-error.ts";

const optionsSchema = z.object({
  stateDir: z.string().min(1),
  port: z
    .string()
    .regex(/^\d+$/, "expected a whole number from 0 to 65535")
    .transform(Number)
    .pipe(z.number().max(65535, "expected a whole number from 0 to 65535")),
  json: z.boolean().default(false),
});

export function addConsoleCommand(program: Command, io: CliIo, setExit: (code: number) => void) {
  program
    .command("console")
    .summary("Run the requester console in the browser, beside a job host.")
    .description(
      "Serve the requester console on 127.0.0.1 (never as an onion service) until SIGINT or " +
        "SIGTERM, and print its URL with a one-time key: the first visit trades the key for a " +
        "session cookie. The console reaches the job host only through its admin API, at the URL " +
        "and with the secret found in the job host's state folder.",
    )
    .option("--state-dir <dir>", "the state folder of the job host (tormr host)", defaultStateDir())
    .option("--port <n>", "the console's port on 127.0.0.1 (0: any free port)", "0")
    .option("--json", "print the URL as one JSON line")
    .action(async (raw: Record<string, unknown>) => {
      const parsed = optionsSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const flag = String(issue?.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
        throw new UsageError(
          "ERR_BAD_VALUE",
          `--${flag}: ${issue?.message}, got '${String(raw[String(issue?.path[0])])}'`,
          "see tormr console --help",
        );
      }
      setExit(await runConsole(parsed.data, io));
    });
}

async function runConsole(options: z.infer<typeof optionsSchema>, io: CliIo): Promise<ExitCode> {
  const { startConsoleServer } = await import("../console/console-server.ts");
  const { readEndpoints } = await import("../master/host-endpoints.ts");
  const stateDir = resolve(io.cwd, options.stateDir);
  // Not fatal: the page says so too, and works as soon as the job host runs.
  await readEndpoints(stateDir).catch((error: unknown) =>
    io.stderr.write(`tormr: ${(error as Error).message}\n`),
  );
  const server = await startConsoleServer({ stateDir, port: options.port });
  const watch = watchInterrupts();
  try {
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ url: server.url, stateDir })}\n`);
    } else {
      io.stdout.write(
        `console: ${server.url}\n(the link opens once; restart tormr console for a new one)\n`,
      );
    }
    const code = await watch.interrupted;
    io.stderr.write("tormr: stopping the console\n");
    return code === EXIT.sigterm ? EXIT.ok : code;
  } finally {
    watch.dispose();
    await server.close();
  }
}

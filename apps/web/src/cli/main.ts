// The tormr-board command: commander parses, one function per command does the work; exit 0 ok, 1 failed, 2 usage.
import { copyFile, constants as fsConstants } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { openBoardDb } from "@tormr/db/board";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { BoardError } from "../server/board/errors.ts";
import { banWorker, operatorStats, removeRequest } from "../server/board/operator.ts";
import { serveBoard } from "./serve.ts";

/** `$XDG_STATE_HOME/tormr/board`, or `~/.local/state/tormr/board`. */
function defaultStateDir(): string {
  return join(process.env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "tormr", "board");
}

function endpoint(value: string): { host: string; port: number } {
  const match = /^(?:(.+):)?(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`expected [host:]port such as 9051, got '${value}'`);
  }
  return { host: match[1] ?? "127.0.0.1", port };
}

function whole(max: number) {
  return (value: string) => {
    if (!/^\d+$/.test(value) || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 0 to ${max}, got '${value}'`);
    }
    return Number(value);
  };
}

async function withDb<T>(
  stateDir: string,
  run: (db: Awaited<ReturnType<typeof openBoardDb>>) => Promise<T>,
) {
  const db = await openBoardDb(join(resolve(stateDir), "board.db"));
  try {
    return await run(db);
  } finally {
    await db.$disconnect();
  }
}

export async function main(args: string[]): Promise<number> {
  let code = 0;
  const program = new Command("tormr-board")
    .description("Run and look after a TorMR bulletin board: an onion site where clusters form.")
    .exitOverride()
    .showSuggestionAfterError(true);
  const stateOption = [
    "--state-dir <dir>",
    "the board's database and onion key",
    defaultStateDir(),
  ] as const;

  program
    .command("start")
    .description(
      "Serve the board on 127.0.0.1 and publish it through tor as an onion service; its key is kept in the state folder, so its address never changes. Runs until Ctrl-C.",
    )
    .option(...stateOption)
    .option("--port <n>", "the loopback port (0: any free one)", whole(65535), 0)
    .option(
      "--tor-control <[host:]port>",
      "tor's control port (cookie authentication)",
      endpoint,
      endpoint("9051"),
    )
    .option("--local", "serve on 127.0.0.1 only, without publishing an onion (for trying it out)")
    .option("--register-bits <n>", "stamp work for registrations (default 20)", whole(28))
    .option("--post-bits <n>", "stamp work for posts (default 20)", whole(28))
    .action(
      async (options: {
        stateDir: string;
        port: number;
        torControl: { host: string; port: number };
        local?: boolean;
        registerBits?: number;
        postBits?: number;
      }) => {
        const stopped = new Promise((resolve) => {
          process.once("SIGINT", resolve);
          process.once("SIGTERM", resolve);
        });
        code = await serveBoard({
          stateDir: resolve(options.stateDir),
          port: options.port,
          torControl: options.local ? undefined : options.torControl,
          ...(options.registerBits !== undefined ? { registerBits: options.registerBits } : {}),
          ...(options.postBits !== undefined ? { postBits: options.postBits } : {}),
          say: (line) => process.stderr.write(`tormr-board: ${line}\n`),
          stopped,
        });
      },
    );

  program
    .command("stats")
    .description("Exact counts of requests and workers by state (the home page shows coarse ones).")
    .option(...stateOption)
    .action(async (options: { stateDir: string }) => {
      const stats = await withDb(options.stateDir, operatorStats);
      process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    });

  program
    .command("remove-request <id>")
    .description("Delete a request; the workers seated for it are available again.")
    .option(...stateOption)
    .action(async (id: string, options: { stateDir: string }) => {
      await withDb(options.stateDir, (db) => removeRequest(db, id));
      process.stderr.write(`tormr-board: removed request ${id}\n`);
    });

  program
    .command("ban <pseudonym>")
    .description("Ban a worker's pseudonym: it loses its seat and cannot register or call again.")
    .option(...stateOption)
    .action(async (pseudonym: string, options: { stateDir: string }) => {
      await withDb(options.stateDir, (db) => banWorker(db, pseudonym));
      process.stderr.write(`tormr-board: banned ${pseudonym}\n`);
    });

  program
    .command("backup-key <file>")
    .description(
      "Copy the board's onion key (0600) to a file that does not exist yet: keep it offline.",
    )
    .option(...stateOption)
    .action(async (file: string, options: { stateDir: string }) => {
      await copyFile(
        join(resolve(options.stateDir), "onion-key.json"),
        resolve(file),
        fsConstants.COPYFILE_EXCL,
      );
      process.stderr.write(
        `tormr-board: the onion key is in ${resolve(file)}; whoever has it can be this board\n`,
      );
    });

  try {
    await program.parseAsync(args, { from: "user" });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message =
      error instanceof BoardError || error instanceof Error ? error.message : String(error);
    process.stderr.write(`tormr-board: ${message}\n`);
    return 1;
  }
}

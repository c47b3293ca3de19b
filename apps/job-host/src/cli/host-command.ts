// `tormr host`: a job host alone, until SIGINT or SIGTERM; it resumes the unfinished jobs in its state folder.
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { statusLinkSchema } from "@tormr/protocol/admin-api";
import { wholeNumber } from "@tormr/protocol/whole-number";
import type { Command } from "commander";
import { z } from "zod";
import { removeEndpoints, writeEndpoints } from "../master/host-endpoints.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { watchInterrupts } from "./interrupt.ts";
import type { CliIo } from "./main.ts";
import { parseOptions, UsageError } from "./usage-error.ts";

const optionsSchema = z.object({
  stateDir: z.string().min(1),
  port: wholeNumber(0, 65535),
  adminPort: wholeNumber(0, 65535),
  tickets: wholeNumber(0, 1000),
  heartbeatMs: wholeNumber(50, 3_600_000).optional(),
  timeoutMs: wholeNumber(100, 86_400_000).optional(),
  pollMs: wholeNumber(50, 600_000).optional(),
  diskQuotaMb: wholeNumber(1, 1e9).optional(),
  json: z.boolean().default(false),
  tor: z.boolean().default(false),
  torControl: z
    .string()
    .regex(/^(?:[^:]+:)?\d{1,5}$/, "expected [host:]port such as 9051 or 127.0.0.1:9051")
    .default("127.0.0.1:9051"),
  request: statusLinkSchema.optional(),
  job: z.string().min(1).optional(),
  boardPeriodMs: wholeNumber(100, 600_000).optional(),
});

/** `$XDG_STATE_HOME/tormr/job-host`, or `~/.local/state/tormr/job-host`. */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "tormr", "job-host");
}

export function addHostCommand(program: Command, io: CliIo, setExit: (code: number) => void) {
  program
    .command("host")
    .summary("Run a job host: the master, the bucket store, and the admin API.")
    .description(
      "Run a job host until SIGINT or SIGTERM. Workers join it at its worker URL with a join ticket; " +
        "jobs are created through its admin API (loopback only, with the admin secret kept in the " +
        "state folder). Unfinished jobs in the state folder are resumed.",
    )
    .option("--state-dir <dir>", "where the database, keys and buckets live", defaultStateDir())
    .option("--port <n>", "worker listener port on 127.0.0.1 (0: any free port)", "0")
    .option("--admin-port <n>", "admin listener port on 127.0.0.1 (0: any free port)", "0")
    .option("--tickets <n>", "print this many new join tickets for each unfinished job", "0")
    .option("--heartbeat-ms <n>", "how often running attempts heartbeat (default 5000)")
    .option("--timeout-ms <n>", "silence after which an attempt is lost (default 30000)")
    .option("--poll-ms <n>", "how long a worker's poll for a task waits (default 20000)")
    .option(
      "--disk-quota-mb <n>",
      "the most one job's buckets may hold on this host (default: the disk)",
    )
    .option("--json", "print the URLs and tickets as one JSON line")
    .option(
      "--tor",
      "publish the worker listener as an onion service (never the admin listener); its key is kept in the state folder",
    )
    .option(
      "--tor-control <[host:]port>",
      "tor's control port, cookie authentication (TORMR_TOR_CONTROL_PASSWORD for a password)",
      "127.0.0.1:9051",
    )
    .option(
      "--request <status link>",
      "attach to this cluster request on a board: prove the onion to the board, admit the workers it matches to a job, ask for replacements when workers are lost, and finish the request when the job is over (saved in the state folder, so a restart carries on)",
    )
    .option(
      "--job <id>",
      "the job --request's workers are admitted to (default: the oldest unfinished job, waiting for one)",
    )
    .option("--board-period-ms <n>", "how often the board request is looked at (default 5000)")
    .action(async (raw: Record<string, unknown>) => {
      const options = parseOptions(optionsSchema, raw, "see tormr host --help");
      setExit(await runHost(options, io));
    });
}

async function runHost(options: z.infer<typeof optionsSchema>, io: CliIo): Promise<ExitCode> {
  const { startJobHost } = await import("../master/job-host.ts");
  const stateDir = resolve(io.cwd, options.stateDir);
  const tor = options.tor
    ? await attachHostTor(options.torControl, (line) => io.stderr.write(`tormr: ${line}\n`))
    : undefined;
  const settings = {
    ...(options.heartbeatMs ? { heartbeatMs: options.heartbeatMs } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  };
  const host = await startJobHost({
    stateDir,
    port: options.port,
    adminPort: options.adminPort,
    settings,
    ...(options.diskQuotaMb ? { jobQuotaBytes: options.diskQuotaMb * 1024 * 1024 } : {}),
    ...(tor ? { tor: { control: tor.control } } : {}),
    log: (event) =>
      io.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`),
  }).catch(async (error: unknown) => {
    await tor?.control.close();
    throw error;
  });
  const watch = watchInterrupts();
  let boardLink: Awaited<ReturnType<typeof startBoardLink>>;
  try {
    boardLink = await startBoardLink(options, stateDir, host, tor, io);
  } catch (error) {
    watch.dispose();
    await host.close();
    await tor?.control.close();
    throw error;
  }
  await writeEndpoints(stateDir, {
    workerUrl: host.workerUrl,
    adminUrl: host.adminUrl,
    pid: process.pid,
  });
  try {
    const tickets: Record<string, string[]> = {};
    if (options.tickets > 0) {
      const open = await host.db.job.findMany({
        where: { state: { in: ["preparing", "running"] } },
        select: { id: true },
      });
      for (const job of open)
        tickets[job.id] = await host.master.createTickets(job.id, options.tickets);
    }
    const secretFile = join(stateDir, "admin-secret");
    if (options.json) {
      io.stdout.write(
        `${JSON.stringify({ workerUrl: host.workerUrl, adminUrl: host.adminUrl, adminSecretFile: secretFile, tickets })}\n`,
      );
    } else {
      io.stdout.write(`worker URL:   ${host.workerUrl}\nadmin URL:    ${host.adminUrl}\n`);
      io.stdout.write(
        `admin secret: in ${secretFile} (send it as 'Authorization: Bearer <secret>')\n`,
      );
      for (const [job, list] of Object.entries(tickets)) {
        io.stdout.write(`join tickets for ${job}:\n${list.map((t) => `  ${t}`).join("\n")}\n`);
      }
    }
    // Without its control connection tor withdraws the onion: nobody can reach this host any more.
    const lost = tor?.control.ended.then((error) => ({ lost: error.message }));
    const end = await Promise.race([
      watch.interrupted.then((code) => ({ code })),
      ...(lost ? [lost] : []),
      boardLink.failed.then((message) => ({ board: message })),
    ]);
    if ("board" in end) {
      io.stderr.write(`tormr: ${end.board}\n`);
      return EXIT.badInput;
    }
    if ("lost" in end) {
      io.stderr.write(
        `tormr: lost tor's control connection (${end.lost}), and with it the onion; stopping so that a supervisor starts the job host again (unfinished jobs resume)\n`,
      );
      return EXIT.internal;
    }
    io.stderr.write("tormr: stopping the job host; unfinished jobs resume on the next start\n");
    return end.code === EXIT.sigterm ? EXIT.ok : end.code;
  } finally {
    boardLink.stop();
    watch.dispose();
    await removeEndpoints(stateDir);
    await host.close();
    await tor?.control.close();
  }
}

/**
 * Lets the host follow board requests (the admin API's `POST /admin/jobs/<id>/board`), and
 * follows `--request` (or the request saved before, by either way) at once. `failed`
 * resolves with a message if the board refuses `--request`; nothing resolves when it ends well,
 * and a saved request's failure is only said in the log (the host serves its other jobs).
 */
async function startBoardLink(
  options: z.infer<typeof optionsSchema>,
  stateDir: string,
  host: Awaited<ReturnType<typeof import("../master/job-host.ts").startJobHost>>,
  tor: Awaited<ReturnType<typeof attachHostTor>> | undefined,
  io: CliIo,
) {
  const { savedBoardRequest } = await import("../board/board-link.ts");
  const { HostBoardFollower } = await import("../board/board-follower.ts");
  const saved = options.request ? undefined : await savedBoardRequest(stateDir);
  const follower = new HostBoardFollower({
    host,
    stateDir,
    tor,
    ...(options.boardPeriodMs ? { periodMs: options.boardPeriodMs } : {}),
    say: (line) => io.stderr.write(`tormr: board: ${line}\n`),
  });
  host.boardFollower = follower;
  const statusLink = options.request ?? saved?.statusLink;
  const never = new Promise<string>(() => {});
  let failed = never;
  if (statusLink) {
    let run: import("../board/board-follower.ts").FollowRun;
    try {
      // A link given now that the board refuses stops the host; a saved one only says so.
      run = follower.start(statusLink, options.job ?? saved?.job, { fatal: !saved });
    } catch (error) {
      throw new UsageError("ERR_BAD_VALUE", `--request: ${(error as Error).message}`);
    }
    failed = run.ended.then((message) =>
      message === undefined ? never : `board request: ${message}`,
    );
  }
  return {
    failed,
    stop() {
      host.boardFollower = undefined;
      follower.stop();
    },
  };
}

/** The tor this job host publishes its onion through (cookie or TORMR_TOR_CONTROL_PASSWORD). */
async function attachHostTor(endpoint: string, progress: (line: string) => void) {
  const { attachTor, waitForBootstrap } = await import("@tormr/tor/tor-process");
  const colon = endpoint.lastIndexOf(":");
  const host = colon > 0 ? endpoint.slice(0, colon) : "127.0.0.1";
  const port = Number(colon > 0 ? endpoint.slice(colon + 1) : endpoint);
  const password = process.env.TORMR_TOR_CONTROL_PASSWORD || undefined;
  const tor = await attachTor({ host, controlPort: port, ...(password ? { password } : {}) });
  try {
    // The onion's descriptor can only be uploaded once tor has bootstrapped.
    await waitForBootstrap(tor.control, {
      timeoutMs: 300_000,
      onProgress: (phase) => {
        if (phase.progress < 100) progress(`tor bootstrap ${phase.progress}%: ${phase.summary}`);
      },
    });
    return tor;
  } catch (error) {
    await tor.control.close();
    throw error;
  }
}

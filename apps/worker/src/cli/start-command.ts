// `tormr-worker start`: checks everything it can locally, then runs the task loop (or board mode) until the worker leaves.
import { join, resolve } from "node:path";
import { CONFIG_FILE, type ConfigFlags, loadConfig, parseConfigFlags } from "../config.ts";
import { loadOrCreateIdentity, type WorkerIdentity } from "../identity.ts";
import { liveWorkerIn, statusWriter } from "../status-file.ts";
import { type JobHostLink, openJobHostLink, type TorOptions } from "../tor-link.ts";
import { prepareWorkDir } from "../work-dir.ts";
import type { WorkerLoopOptions } from "../worker-loop.ts";
import { applyEvent, initialStatus } from "../worker-status.ts";
import { type BoardTarget, boardOf, checkBoard } from "./board-args.ts";
import { runBoardMode } from "./board-mode.ts";
import { EXIT, type ExitCode, reportError } from "./exit-codes.ts";
import type { CliIo } from "./io.ts";
import { jsonReporter } from "./json-reporter.ts";
import {
  commonLoopOptions,
  type LoopContext,
  type StatusKeeper,
  watchStops,
} from "./loop-options.ts";
import { pickSandbox } from "./pick-sandbox.ts";
import { checkJobHost, checkTicket, checkTorEndpoint, checkTransport } from "./start-args.ts";
import { ttyReporter } from "./tty-reporter.ts";
import { UsageError, WorkDirBusyError } from "./usage-error.ts";

export interface StartFlags extends ConfigFlags {
  board?: string;
  jobHost?: string;
  ticket?: string;
  tor?: boolean;
  transport?: string;
  torControl?: string;
  torSocks?: string;
  config?: string;
  configDir?: string;
  unsafeNoSandbox?: boolean;
  yes?: boolean;
}

const UNSAFE_WARNING =
  "!!! --unsafe-no-sandbox: the job's code runs as YOUR user, with your files, your network " +
  "and no memory or CPU limits. Use it only for a job whose code you wrote or read. !!!";

/** Where the worker goes: a board that seats it, or one job host with a ticket. */
type Target =
  | { mode: "board"; board: BoardTarget }
  | {
      mode: "ticket";
      jobHost: string;
      ticket: string;
      transport: ReturnType<typeof checkTransport>;
    };

function checkTarget(flags: StartFlags, io: CliIo): Target {
  const board = boardOf(flags, io.env);
  if (board !== undefined) {
    if (flags.unsafeNoSandbox === true) {
      // Boards match workers by sandbox kind, and "none" is not one they seat anybody on.
      throw new UsageError(
        "ERR_CONFLICT",
        "--board and --unsafe-no-sandbox do not go together: a board's jobs come from strangers, " +
          "so they run only in a sandbox (docker or bwrap)",
      );
    }
    return { mode: "board", board: checkBoard(board, flags) };
  }
  const jobHost = checkJobHost(flags.jobHost ?? io.env.jobHost);
  const ticket = checkTicket(flags.ticket ?? io.env.ticket);
  return { mode: "ticket", jobHost, ticket, transport: checkTransport(jobHost, flags) };
}

/** Usage errors are thrown (main prints them); every later error is reported here. */
export async function startCommand(flags: StartFlags, io: CliIo): Promise<ExitCode> {
  const target = checkTarget(flags, io);
  const torControl = checkTorEndpoint("--tor-control", flags.torControl ?? io.env.torControl);
  const torSocks = checkTorEndpoint("--tor-socks", flags.torSocks);
  if (flags.unsafeNoSandbox === true && flags.sandbox !== undefined) {
    throw new UsageError(
      "ERR_CONFLICT",
      "--unsafe-no-sandbox and --sandbox contradict each other; give one of them",
    );
  }
  if (flags.yes !== true && io.stdin.isTTY !== true) {
    throw new UsageError(
      "ERR_NO_TERMINAL",
      "stdin is not a terminal, so nobody can confirm the job; pass --yes to join without asking",
    );
  }
  parseConfigFlags(configFlags(flags), io.cwd);
  const reporter = io.stderr.isTTY === true ? ttyReporter(io.stderr) : jsonReporter(io.stderr);
  let writer: ReturnType<typeof statusWriter> | undefined;
  let link: JobHostLink | undefined;
  const keeper: StatusKeeper = {
    set(next) {
      this.current = next;
      writer?.update(next);
    },
  };
  try {
    const configDir = flags.configDir ? resolve(io.cwd, flags.configDir) : io.env.configDir;
    const config = await loadConfig({
      path: flags.config ? resolve(io.cwd, flags.config) : join(configDir, CONFIG_FILE),
      explicit: flags.config !== undefined,
      flags: configFlags(flags),
      cwd: io.cwd,
      defaultWorkDir: io.env.cacheDir,
    });
    const { identity, created } = await loadOrCreateIdentity(configDir);
    if (created) reporter.log("info", `made a new identity in ${configDir}`);
    await prepareWorkDir(config.workDir, config.diskQuotaMb, io.freeBytes);
    const other = await liveWorkerIn(config.workDir, io.pid);
    if (other !== undefined) {
      throw new WorkDirBusyError(
        `another tormr-worker (pid ${other}) runs in ${config.workDir}; stop it, or give this ` +
          "one its own --work-dir",
      );
    }
    const sandbox =
      flags.unsafeNoSandbox === true
        ? undefined
        : await pickSandbox({
            choice: config.sandbox,
            ...(config.dockerHost ? { dockerHost: config.dockerHost } : {}),
            probes: io.probes,
          });
    if (sandbox === undefined) reporter.log("warn", UNSAFE_WARNING, { unsafeNoSandbox: true });
    const tor: TorOptions = {
      onProgress: (message) => reporter.log("info", message),
      ...(torControl ? { torControl } : {}),
      ...(torSocks ? { torSocks } : {}),
      ...(io.env.torControlPassword ? { torControlPassword: io.env.torControlPassword } : {}),
    };
    writer = statusWriter(config.workDir, (error) =>
      reporter.log("warn", `cannot write status.json: ${(error as Error).message}`),
    );
    const loop: LoopContext = { io, yes: flags.yes === true, config, sandbox, reporter, keeper };
    if (target.mode === "board") {
      if (sandbox === undefined) throw new Error("board mode without a sandbox");
      return await runBoardMode({
        ...loop,
        sandbox,
        board: target.board,
        identity,
        configDir,
        tor,
      });
    }
    link = await openJobHostLink({
      jobHost: target.jobHost,
      transport: target.transport,
      configDir,
      ...tor,
    });
    if (link.transport.kind === "tor")
      reporter.log("info", `reaching the job host through ${link.describe}`);
    keeper.set(
      initialStatus({
        pid: io.pid,
        jobHost: target.jobHost,
        pseudonym: identity.pseudonym,
        sandbox: sandbox?.kind ?? "none",
        slots: config.slots,
        now: io.now(),
      }),
    );
    return await runTicketMode({
      ...loop,
      jobHost: target.jobHost,
      ticket: target.ticket,
      identity,
      link,
    });
  } catch (error) {
    const report = reportError(error, { debug: io.env.debug });
    reporter.stop();
    reporter.log("error", report.line, { code: report.code, exitCode: report.exitCode });
    if (report.stack) io.stderr.write(`${report.stack}\n`);
    if (keeper.current) {
      keeper.set({ ...keeper.current, state: "left", running: [], reason: report.line });
    }
    return report.exitCode;
  } finally {
    reporter.stop();
    await writer?.flush();
    await link?.close();
  }
}

function configFlags(flags: StartFlags): ConfigFlags {
  const { slots, memoryMb, cpus, pids, sandbox, dockerHost, workDir, diskQuotaMb } = flags;
  return { slots, memoryMb, cpus, pids, sandbox, dockerHost, workDir, diskQuotaMb };
}

interface TicketContext extends LoopContext {
  jobHost: string;
  ticket: string;
  identity: WorkerIdentity;
  link: JobHostLink;
}

async function runTicketMode(ctx: TicketContext): Promise<ExitCode> {
  const { io, reporter, keeper } = ctx;
  const controller = new AbortController();
  const unwatch = watchStops(ctx, controller, "leaving");
  const options: WorkerLoopOptions = {
    ...commonLoopOptions(ctx, controller.signal),
    jobHost: ctx.jobHost,
    ticket: ctx.ticket,
    identity: ctx.identity,
    ...(ctx.link.transport.agent ? { agent: ctx.link.transport.agent } : {}),
    ...(ctx.link.clientAuth ? { clientAuth: ctx.link.clientAuth } : {}),
    callTimeoutMs: ctx.link.transport.timeouts.callMs,
    joinPatienceMs: ctx.link.transport.timeouts.reachMs,
    signal: controller.signal,
    onEvent(event) {
      if (keeper.current === undefined) return;
      keeper.set(applyEvent(keeper.current, event, io.now()));
      reporter.event(event, keeper.current);
    },
  };
  try {
    const runWorkerLoop = await io.loadWorkerLoop();
    await runWorkerLoop(options);
    return EXIT.ok;
  } finally {
    unwatch();
  }
}

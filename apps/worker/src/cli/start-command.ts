// `tormr-worker start`: checks everything it can locally, then runs the task loop until the worker leaves.
import { join, resolve } from "node:path";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import type { Sandbox } from "@tormr/sandbox/sandbox";
import {
  CONFIG_FILE,
  type ConfigFlags,
  loadConfig,
  parseConfigFlags,
  taskLimits,
  type WorkerConfig,
} from "../config.ts";
import { loadOrCreateIdentity, type WorkerIdentity } from "../identity.ts";
import { checkImage, createResolveImage } from "../image-allow-list.ts";
import { liveWorkerIn, statusWriter } from "../status-file.ts";
import { type JobHostLink, openJobHostLink } from "../tor-link.ts";
import { prepareWorkDir } from "../work-dir.ts";
import type { WorkerLoopOptions } from "../worker-loop.ts";
import { applyEvent, initialStatus, type WorkerStatus } from "../worker-status.ts";
import { confirm } from "./confirm.ts";
import { EXIT, type ExitCode, reportError } from "./exit-codes.ts";
import type { CliIo } from "./io.ts";
import { sandboxDescription } from "./job-preview.ts";
import { jsonReporter } from "./json-reporter.ts";
import { pickSandbox } from "./pick-sandbox.ts";
import { printable } from "./printable.ts";
import type { Reporter } from "./reporter.ts";
import { checkJobHost, checkTicket, checkTorEndpoint, checkTransport } from "./start-args.ts";
import { watchStopSignals } from "./stop-signals.ts";
import { ttyReporter } from "./tty-reporter.ts";
import { DeclinedError, UsageError, WorkDirBusyError } from "./usage-error.ts";

export interface StartFlags extends ConfigFlags {
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

/** The status as it changes, kept on disk for `tormr-worker status`. */
interface StatusKeeper {
  current?: WorkerStatus;
  set(next: WorkerStatus): void;
}

/** Usage errors are thrown (main prints them); every later error is reported here. */
export async function startCommand(flags: StartFlags, io: CliIo): Promise<ExitCode> {
  const jobHost = checkJobHost(flags.jobHost ?? io.env.jobHost);
  const ticket = checkTicket(flags.ticket ?? io.env.ticket);
  const transport = checkTransport(jobHost, flags);
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
    link = await openJobHostLink({
      jobHost,
      transport,
      configDir,
      onProgress: (message) => reporter.log("info", message),
      ...(torControl ? { torControl } : {}),
      ...(torSocks ? { torSocks } : {}),
      ...(io.env.torControlPassword ? { torControlPassword: io.env.torControlPassword } : {}),
    });
    if (link.transport.kind === "tor")
      reporter.log("info", `reaching the job host through ${link.describe}`);
    writer = statusWriter(config.workDir, (error) =>
      reporter.log("warn", `cannot write status.json: ${(error as Error).message}`),
    );
    keeper.set(
      initialStatus({
        pid: io.pid,
        jobHost,
        pseudonym: identity.pseudonym,
        sandbox: sandbox?.kind ?? "none",
        slots: config.slots,
        now: io.now(),
      }),
    );
    return await runLoop({
      io,
      flags,
      config,
      sandbox,
      reporter,
      keeper,
      jobHost,
      ticket,
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

interface LoopContext {
  io: CliIo;
  flags: StartFlags;
  config: WorkerConfig;
  sandbox: Sandbox | undefined;
  reporter: Reporter;
  keeper: StatusKeeper;
  jobHost: string;
  ticket: string;
  identity: WorkerIdentity;
  link: JobHostLink;
}

async function runLoop(ctx: LoopContext): Promise<ExitCode> {
  const { io, config, sandbox, reporter, keeper } = ctx;
  const controller = new AbortController();
  const unwatch = watchStopSignals(io.signals, {
    stop(signal) {
      const again = signal === "SIGINT" ? " (Ctrl-C again quits at once)" : "";
      reporter.log("info", `${signal}: handing running tasks back, then leaving${again}`, {
        signal,
      });
      if (keeper.current) keeper.set({ ...keeper.current, state: "stopping" });
      controller.abort();
    },
    force() {
      reporter.stop();
      reporter.log("warn", "quitting at once; the job host reassigns the running tasks later");
      io.exit(EXIT.forced);
    },
  });
  const limits = taskLimits(config);
  const kind: "docker" | "bwrap" | "none" = sandbox?.kind ?? "none";
  const allowList = {
    allowImages: config.allowImages,
    configPath: config.configPath,
    sandbox: kind,
  };
  const beforeJoin = async (job: WorkerJob) => {
    reporter.job(job, sandboxDescription(sandbox?.kind, config));
    // Refused before asking: saying yes to an image that will not run helps nobody.
    checkImage(job.image, allowList);
    const id = printable(job.id);
    if (ctx.flags.yes !== true) {
      const yes = await confirm(io.stdin, io.stderr, "Join this job? [y/N] ", controller.signal);
      if (!yes && !controller.signal.aborted) {
        throw new DeclinedError("ERR_DECLINED", `you declined job ${id}; nothing was run`);
      }
    }
    if (controller.signal.aborted) {
      throw new DeclinedError(
        "ERR_STOPPED_BEFORE_JOIN",
        `stopped before joining job ${id}; nothing was run`,
      );
    }
  };
  const options: WorkerLoopOptions = {
    jobHost: ctx.jobHost,
    ticket: ctx.ticket,
    identity: ctx.identity,
    workDir: config.workDir,
    slots: config.slots,
    ...(sandbox ? { sandbox } : {}),
    limits,
    memoryBytes: limits.memoryBytes,
    diskQuotaBytes: config.diskQuotaMb * 1024 * 1024,
    resolveImage: createResolveImage({
      ...allowList,
      ensureImage: (image) => io.probes.ensureImage(image, config.dockerHost),
    }),
    beforeJoin,
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

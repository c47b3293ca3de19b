// What both ways of starting share: the status kept on disk, stopping on signals, and the task loop's options up to the job host.
import type { WorkerJob } from "@tormr/protocol/worker-api";
import type { Sandbox } from "@tormr/sandbox/sandbox";
import { taskLimits, type WorkerConfig } from "../config.ts";
import { checkImage, createResolveImage } from "../image-allow-list.ts";
import type { WorkerLoopOptions } from "../worker-loop.ts";
import type { WorkerStatus } from "../worker-status.ts";
import { confirm } from "./confirm.ts";
import { EXIT } from "./exit-codes.ts";
import type { CliIo } from "./io.ts";
import { sandboxDescription } from "./job-preview.ts";
import { printable } from "./printable.ts";
import type { Reporter } from "./reporter.ts";
import { watchStopSignals } from "./stop-signals.ts";
import { DeclinedError } from "./usage-error.ts";

/** The status as it changes, kept on disk for `tormr-worker status`. */
export interface StatusKeeper {
  current?: WorkerStatus;
  set(next: WorkerStatus): void;
}

export interface LoopContext {
  io: CliIo;
  yes: boolean;
  config: WorkerConfig;
  sandbox: Sandbox | undefined;
  reporter: Reporter;
  keeper: StatusKeeper;
}

/** SIGTERM / Ctrl-C abort `controller` (tasks are handed back); a second Ctrl-C quits at once. */
export function watchStops(ctx: LoopContext, controller: AbortController, after: string) {
  const { io, reporter, keeper } = ctx;
  return watchStopSignals(io.signals, {
    stop(signal) {
      const again = signal === "SIGINT" ? " (Ctrl-C again quits at once)" : "";
      reporter.log("info", `${signal}: handing running tasks back, then ${after}${again}`, {
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
}

export type CommonLoopOptions = Omit<
  WorkerLoopOptions,
  | "jobHost"
  | "ticket"
  | "identity"
  | "agent"
  | "clientAuth"
  | "callTimeoutMs"
  | "joinPatienceMs"
  | "signal"
  | "onEvent"
>;

/** The task loop's options that do not depend on the job host: limits, images, asking first. */
export function commonLoopOptions(ctx: LoopContext, signal: AbortSignal): CommonLoopOptions {
  const { io, config, sandbox, reporter } = ctx;
  const limits = taskLimits(config);
  const allowList = {
    allowImages: config.allowImages,
    configPath: config.configPath,
    sandbox: sandbox?.kind ?? ("none" as const),
  };
  const beforeJoin = async (job: WorkerJob) => {
    reporter.job(job, sandboxDescription(sandbox?.kind, config));
    // Refused before asking: saying yes to an image that will not run helps nobody.
    checkImage(job.image, allowList);
    const id = printable(job.id);
    if (!ctx.yes) {
      const yes = await confirm(io.stdin, io.stderr, "Join this job? [y/N] ", signal);
      if (!yes && !signal.aborted) {
        throw new DeclinedError("ERR_DECLINED", `you declined job ${id}; nothing was run`);
      }
    }
    if (signal.aborted) {
      throw new DeclinedError(
        "ERR_STOPPED_BEFORE_JOIN",
        `stopped before joining job ${id}; nothing was run`,
      );
    }
  };
  return {
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
  };
}

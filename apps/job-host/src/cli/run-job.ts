// Runs one parsed job locally: builds the spec, shows progress, prints the summary.
import os from "node:os";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { ensureImage } from "@tormr/sandbox/images";
import type { JobResult, LocalJobOptions, SandboxChoice } from "../local/types.ts";
import { buildJobSpec } from "./build-spec.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import type { RunArgs, StreamingArgs } from "./hadoop-args.ts";
import { type InterruptWatch, watchInterrupts } from "./interrupt.ts";
import { formatJobSummary } from "./job-summary.ts";
import { createProgressReporter } from "./progress.ts";

export type RunLocalJob = (spec: JobSpec, options: LocalJobOptions) => Promise<JobResult>;

export interface RunJobOptions {
  runLocalJob: RunLocalJob;
  stdout: NodeJS.WritableStream;
  /** Progress, warnings and the interrupt notice go here; bars only if it is a TTY. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  cwd: string;
  watchInterrupts?: () => InterruptWatch;
  /** How long to wait for a cancelled job to clean up before giving up. */
  cancelGraceMs?: number;
  now?: Date;
}

const CANCEL_GRACE_MS = 10_000;

type Outcome = { result: JobResult } | { interrupted: ExitCode };

/** Resolves with the exit code; engine errors are thrown for the caller to report. */
export async function runJob(
  args: StreamingArgs | RunArgs,
  options: RunJobOptions,
): Promise<ExitCode> {
  const { stdout, stderr } = options;
  const spec = buildJobSpec(args, { cwd: options.cwd, now: options.now });
  for (const warning of args.warnings) stderr.write(`tormr: warning: ${warning}\n`);
  const workers = args.workers ?? (args.jobHost ? 3 : os.availableParallelism());
  const plural = workers === 1 ? "" : "s";
  stderr.write(
    args.jobHost
      ? `Submitting job ${spec.id} to the job host on ${args.jobHost}\n`
      : args.local
        ? `Running job ${spec.id} with ${workers} local worker${plural}\n`
        : `Running job ${spec.id} on a job host with ${workers} tormr-worker process${plural === "s" ? "es" : ""}${args.tor ? " over a private Tor network" : ""}\n`,
  );
  if (!args.seal) stderr.write("tormr: warning: --no-seal: data moves between workers unsealed\n");

  const progress = createProgressReporter(stderr);
  const watch = (options.watchInterrupts ?? watchInterrupts)();
  const controller = new AbortController();
  try {
    const sandbox = await sandboxChoice(
      args.sandbox,
      spec.task.kind === "js" ? "node" : "python",
      stderr,
    );
    const job = options.runLocalJob(spec, {
      workers,
      seal: args.seal,
      ...(args.tor ? { tor: true } : {}),
      ...(sandbox ? { sandbox } : {}),
      onProgress: (p) => progress.update(p),
      signal: controller.signal,
    });
    const outcome: Outcome = await Promise.race([
      job.then((result) => ({ result })),
      watch.interrupted.then((code) => ({ interrupted: code })),
    ]);
    progress.stop();
    if ("interrupted" in outcome) {
      stderr.write(`tormr: interrupted; stopping job ${spec.id} (Ctrl-C again quits at once)\n`);
      // The runner kills its workers and removes the half-written output folder.
      controller.abort();
      await settled(job, options.cancelGraceMs ?? CANCEL_GRACE_MS);
      return outcome.interrupted;
    }
    for (const line of formatJobSummary(outcome.result)) stdout.write(`${line}\n`);
    return EXIT.ok;
  } finally {
    progress.stop();
    watch.dispose();
  }
}

/** Waits for a cancelled job to clean up, but not forever. */
async function settled(job: Promise<unknown>, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([job.then(noop, noop), timeout]);
  clearTimeout(timer);
}

function noop(): void {}

/** The sandbox a run asked for; Docker's Python or Node image is built here (once per content hash). */
async function sandboxChoice(
  kind: "none" | "bwrap" | "docker",
  image: "python" | "node",
  stderr: NodeJS.WritableStream,
): Promise<SandboxChoice | undefined> {
  if (kind === "none") return undefined;
  if (kind === "bwrap") return { kind };
  stderr.write("tormr: preparing the Docker image for the sandbox\n");
  return { kind, image: await ensureImage(image) };
}

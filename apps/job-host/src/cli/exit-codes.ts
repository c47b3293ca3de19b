// The exit codes tormr promises, and how each error becomes one line on stderr plus a code.
import { MapReduceError, type MapReduceErrorCode } from "@tormr/mapreduce/errors";
import { TorError } from "@tormr/tor/errors";
import { HostNotRunning } from "../master/host-endpoints.ts";
import { oneLine } from "./one-line.ts";
import { UsageError } from "./usage-error.ts";

/**
 * | code | meaning                                                             |
 * |------|---------------------------------------------------------------------|
 * | 0    | the job succeeded (or help / version was shown)                     |
 * | 1    | unexpected internal error: a bug in tormr                           |
 * | 2    | usage: the command line is wrong (unknown flag, missing value, …)   |
 * | 3    | bad input: the job was refused before it ran (missing input, output |
 * |      | exists, mapper not executable, bad -D value, bad job module, …), or |
 * |      | tor could not be used                                               |
 * | 4    | the job ran and failed: a task used up its attempts                 |
 * | 5    | `tormr verify`: the output does not match its signed provenance     |
 * | 130  | interrupted by SIGINT (Ctrl-C); 143 for SIGTERM                     |
 */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  badInput: 3,
  jobFailed: 4,
  sigint: 130,
  sigterm: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** `tormr verify` only: a check failed (a signature, the map → reduce chain, a part's bytes). */
export const VERIFY_FAILED = 5;

/**
 * A Record, so a new engine error code does not compile until it is given an exit code.
 * Hints only where the engine's message does not already say what to do.
 */
const BY_ENGINE_CODE: Record<MapReduceErrorCode, { exit: ExitCode; hint?: string }> = {
  ERR_INPUT_MISSING: { exit: EXIT.badInput },
  ERR_INPUT_EMPTY: { exit: EXIT.badInput, hint: "check the -input paths" },
  ERR_OUTPUT_EXISTS: { exit: EXIT.badInput, hint: "remove it or choose another -output" },
  ERR_BAD_JOB_SPEC: { exit: EXIT.badInput },
  ERR_BAD_CONF: { exit: EXIT.badInput },
  ERR_NOT_EXECUTABLE: { exit: EXIT.badInput },
  ERR_BAD_JOB_MODULE: { exit: EXIT.badInput },
  ERR_BAD_RECORD: { exit: EXIT.jobFailed },
  ERR_TASK_FAILED: { exit: EXIT.jobFailed },
  ERR_JOB_FAILED: {
    exit: EXIT.jobFailed,
    hint: "try the failing script by hand, e.g. head input | mapper | sort | reducer",
  },
  ERR_CANCELLED: { exit: EXIT.sigint },
};

export interface ErrorReport {
  exitCode: ExitCode;
  /** The first line, starting with `tormr: `. */
  line: string;
  /** More lines to print under it (a task's stderr, a stack trace when debugging). */
  details: string[];
}

/** The hint is left out when the message already says it. */
function headline(message: string, hint: string | undefined): string {
  const add = hint !== undefined && !message.toLowerCase().includes(hint.toLowerCase());
  return `tormr: ${message}${add ? `; ${hint}` : ""}`;
}

/** `debug` adds the stack trace of an unexpected error; engine and usage errors never show one. */
export function reportError(error: unknown, options: { debug?: boolean } = {}): ErrorReport {
  if (error instanceof UsageError) {
    return {
      exitCode: EXIT.usage,
      line: headline(oneLine(error.message), error.hint),
      details: [],
    };
  }
  if (error instanceof MapReduceError) {
    const entry = BY_ENGINE_CODE[error.code] ?? { exit: EXIT.internal };
    const [first = "", ...rest] = error.message.split(/\r?\n/);
    return {
      exitCode: entry.exit,
      line: headline(first, entry.hint),
      details: rest.filter((l) => l.trim() !== "").map((l) => `  ${l}`),
    };
  }
  if (error instanceof TorError) {
    const hint = error.code.startsWith("ERR_ONION_KEY")
      ? undefined
      : "run tor with 'ControlPort 9051' and 'CookieAuthentication 1' (Debian: add this user to group debian-tor), or pass --tor-control";
    return {
      exitCode: EXIT.badInput,
      line: headline(`tor: ${oneLine(error.message)}`, hint),
      details: [],
    };
  }
  if (error instanceof HostNotRunning) {
    return {
      exitCode: EXIT.badInput,
      line: headline(oneLine(error.message), undefined),
      details: [],
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && options.debug === true ? (error.stack ?? "") : "";
  return {
    exitCode: EXIT.internal,
    line: headline(
      `internal error: ${oneLine(message)}`,
      options.debug === true
        ? "this is a bug in tormr"
        : "this is a bug in tormr; rerun with TORMR_DEBUG=1 for the stack trace",
    ),
    details: stack === "" ? [] : stack.split("\n"),
  };
}

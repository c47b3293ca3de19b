// The exit codes tormr-worker promises, and how each error becomes one line plus a code.
import { IdentityError } from "@tormr/crypto/identity-file";
import { BoardApiError } from "@tormr/protocol/board-client";
import { ProtocolError } from "@tormr/protocol/version";
import { WorkerApiError } from "@tormr/protocol/worker-client";
import { SandboxError } from "@tormr/sandbox/sandbox";
import { TorError } from "@tormr/tor/errors";
import { isTransient } from "../board-loop.ts";
import { ConfigError } from "../config.ts";
import { ImageRefusedError } from "../image-allow-list.ts";
import { StatusFileError } from "../status-file.ts";
import { WorkDirError } from "../work-dir.ts";
import { printable } from "./printable.ts";
import { DeclinedError, UsageError, WorkDirBusyError } from "./usage-error.ts";

export const EXIT = {
  /** The worker left the job: it is over, or SIGTERM/SIGINT stopped it after handing tasks back. */
  ok: 0,
  internal: 1,
  usage: 2,
  /** Refused before contacting anyone: config, identity, work folder, disk space, sandbox. */
  cannotStart: 3,
  /** The job host did not answer (network, Tor, timeout, 5xx): trying again later may work. */
  unreachable: 4,
  /** The job host refused this worker (used or bad ticket, protocol version) or sent bad data. */
  refused: 5,
  /** This worker refused the job: its image is not allowed, or the volunteer said no. */
  declined: 6,
  /** `status`: no worker is running in that work folder. */
  notRunning: 7,
  /** `start --board`: the board's operator banned this worker's pseudonym there. */
  banned: 8,
  /** A second Ctrl-C: quit at once, without handing tasks back. */
  forced: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = [
  "Exit codes:",
  "  0    left the job: it is over, or SIGTERM / Ctrl-C stopped the worker after it handed",
  "       its running tasks back (status: a worker is running)",
  "  1    internal error (a bug in tormr-worker; TORMR_DEBUG=1 shows the stack)",
  "  2    usage error: unknown flag, missing or malformed value",
  "  3    cannot start: bad config, identity, work folder, disk space, sandbox or tor",
  "  4    the job host did not answer, or with --board the board stayed unreachable for",
  "       30 minutes; trying again later may work",
  "  5    the job host refused this worker (e.g. the ticket was used or is wrong, or its",
  "       onion does not let this worker in), or the board refused its registration",
  "  6    this worker refused the job: image not on allowImages, or you said no",
  "  7    status: no worker is running in that work folder",
  "  8    --board: the board's operator banned this worker's pseudonym on that board",
  "  130  a second Ctrl-C quit at once, without handing tasks back",
];

export interface ErrorReport {
  exitCode: ExitCode;
  /** One line, starting with `tormr-worker: `. */
  line: string;
  code: string;
  stack?: string;
}

const AWAY = new Set(["ERR_UNREACHABLE", "ERR_TIMEOUT"]);

function classify(error: unknown): { exitCode: ExitCode; message: string; code: string } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown })?.code;
  const named = typeof code === "string" ? code : "ERR_INTERNAL";
  if (error instanceof UsageError) return { exitCode: EXIT.usage, message, code: named };
  if (error instanceof ConfigError) {
    const exitCode = error.code === "ERR_BAD_FLAG" ? EXIT.usage : EXIT.cannotStart;
    return { exitCode, message, code: named };
  }
  if (
    error instanceof IdentityError ||
    error instanceof WorkDirError ||
    error instanceof WorkDirBusyError ||
    error instanceof SandboxError ||
    error instanceof StatusFileError
  ) {
    return { exitCode: EXIT.cannotStart, message, code: named };
  }
  if (error instanceof ImageRefusedError || error instanceof DeclinedError) {
    return { exitCode: EXIT.declined, message, code: named };
  }
  if (error instanceof TorError) {
    // Our own tor: its control port, authentication or key file. Nothing reached the job host.
    const hint = error.code.startsWith("ERR_ONION_KEY")
      ? ""
      : "; check that tor runs with a ControlPort (--tor-control, default 9051) this user may use";
    return { exitCode: EXIT.cannotStart, message: `tor: ${message}${hint}`, code: named };
  }
  if (error instanceof WorkerApiError) {
    const socksReply = (error.cause as TorError | undefined)?.socksReply;
    if (socksReply === 0xf4 || socksReply === 0xf5) {
      // The job host's onion lets in only its cluster's workers, and this one is not (or no longer) among them.
      return {
        exitCode: EXIT.refused,
        message: `${message}; ask the requester whether this worker is still in the cluster`,
        code: "ERR_ONION_AUTH",
      };
    }
    if (AWAY.has(error.code) || error.status >= 500) {
      return {
        exitCode: EXIT.unreachable,
        message: `${message}; check --job-host and that the job host is up, then try again`,
        code: named,
      };
    }
    const hint = error.status >= 400 ? "; ask the requester for a new ticket if it was used" : "";
    return {
      exitCode: EXIT.refused,
      message: `the job host refused: ${message} (${error.code})${hint}`,
      code: named,
    };
  }
  if (error instanceof BoardApiError) {
    if (error.code === "ERR_BANNED") {
      return {
        exitCode: EXIT.banned,
        message: `the board banned this worker: ${message}; it will not seat this worker again (other boards know it by other pseudonyms)`,
        code: named,
      };
    }
    if (isTransient(error)) {
      return {
        exitCode: EXIT.unreachable,
        message: `${message}; check --board and that tor runs, then start again`,
        code: named,
      };
    }
    return {
      exitCode: EXIT.refused,
      message: `the board refused: ${message} (${error.code})`,
      code: named,
    };
  }
  if (error instanceof ProtocolError) return { exitCode: EXIT.refused, message, code: named };
  return { exitCode: EXIT.internal, message: `internal error: ${message}`, code: "ERR_INTERNAL" };
}

/** Messages may quote the job host, so they pass through `printable`. */
export function reportError(error: unknown, options: { debug?: boolean } = {}): ErrorReport {
  const { exitCode, message, code } = classify(error);
  const hint =
    exitCode === EXIT.internal && options.debug !== true
      ? "; this is a bug in tormr-worker, rerun with TORMR_DEBUG=1 for the stack trace"
      : "";
  const report: ErrorReport = {
    exitCode,
    code,
    line: `tormr-worker: ${printable(message, 500)}${hint}`,
  };
  if (exitCode === EXIT.internal && options.debug === true && error instanceof Error) {
    report.stack = error.stack ?? "";
  }
  return report;
}

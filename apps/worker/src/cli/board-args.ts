// Checks `start --board`: the board's address in any of its accepted forms, and that it is not mixed with a ticket.
import { parseOnionAddress } from "@tormr/tor/onion-address";
import type { TransportKind } from "@tormr/tor/transport";
import type { WorkerEnv } from "../env.ts";
import { checkTransport } from "./start-args.ts";
import { UsageError } from "./usage-error.ts";

export interface BoardTarget {
  /** The board's base URL: `http://<56 characters>.onion` or `http://127.0.0.1:<port>`. */
  url: string;
  /** The service id the URL names; undefined for a loopback board (its board.info says it). */
  serviceId: string | undefined;
  transport: TransportKind;
}

const FORMS = "xxxx.onion, http://xxxx.onion or http://127.0.0.1:<port>";

/**
 * Which of the two ways to start: `--board` (the board seats the worker and hands out tickets)
 * or `--job-host` with `--ticket`. Flags of one way over environment variables of the other
 * follow the flags; both ways on the command line (or both in the environment) are refused.
 */
export function boardOf(
  flags: { board?: string | undefined; jobHost?: string | undefined; ticket?: string | undefined },
  env: Pick<WorkerEnv, "board" | "jobHost" | "ticket">,
): string | undefined {
  const ticketFlags = flags.jobHost !== undefined || flags.ticket !== undefined;
  if (flags.board !== undefined && ticketFlags) {
    throw new UsageError(
      "ERR_CONFLICT",
      "--board and --job-host/--ticket contradict each other: with --board the board names the " +
        "job host and gives the ticket; give one of them",
    );
  }
  if (flags.board !== undefined || ticketFlags) return flags.board;
  if (env.board !== undefined && (env.jobHost !== undefined || env.ticket !== undefined)) {
    throw new UsageError(
      "ERR_CONFLICT",
      "TORMR_WORKER_BOARD and TORMR_WORKER_JOB_HOST/TORMR_WORKER_TICKET are all set; unset one " +
        "way of starting",
    );
  }
  return env.board;
}

/** The board's address: `xxxx.onion`, `http://xxxx.onion`, or `http://127.0.0.1:<port>`. */
export function checkBoard(
  value: string,
  flags: { tor?: boolean | undefined; transport?: string | undefined },
): BoardTarget {
  const text = value.trim();
  const withScheme = /^[a-z2-7]{56}\.onion\/?$/i.test(text) ? `http://${text}` : text;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError("ERR_BAD_VALUE", `--board: expected ${FORMS}, got '${value}'`);
  }
  if (url.protocol !== "http:") {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--board: expected ${FORMS} (plain http: Tor encrypts onion traffic), got ${url.protocol}//`,
    );
  }
  if (url.username || url.password || url.search || url.hash || url.pathname !== "/") {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--board: expected the board's address alone (${FORMS}), without a path, query or user`,
    );
  }
  const host = url.hostname.toLowerCase();
  let serviceId: string | undefined;
  if (host.endsWith(".onion")) {
    try {
      serviceId = parseOnionAddress(host).serviceId;
    } catch (error) {
      throw new UsageError("ERR_BAD_VALUE", `--board: ${(error as Error).message}`);
    }
  }
  const base = `http://${host}${url.port ? `:${url.port}` : ""}`;
  return { url: base, serviceId, transport: checkTransport(base, flags, "--board") };
}

// Posting a job's cluster request on a board from the console: through the job host's own tor, paid for with the board's stamp, then followed by the running job host.
import { setTimeout as sleep } from "node:timers/promises";
import { mintStamp } from "@tormr/crypto/stamp";
import { type AdminClient, AdminError } from "@tormr/protocol/admin-client";
import { BoardApiError, BoardClient } from "@tormr/protocol/board-client";
import { parseOnionAddress } from "@tormr/tor/onion-address";
import {
  directTransport,
  isLoopbackHost,
  type Transport,
  torTransport,
} from "@tormr/tor/transport";
import { z } from "zod";

export type BoardPostErrorCode =
  | "ERR_BAD_INPUT"
  | "ERR_HOST"
  | "ERR_NO_TOR"
  | "ERR_BOARD_UNREACHABLE"
  | "ERR_BOARD_REFUSED"
  | "ERR_NOT_FOLLOWED";

/**
 * Posting failed, in one line saying what to do. `field` names the bad option (ERR_BAD_INPUT);
 * `statusLink` is set when the board took the request but the job host did not follow it
 * (ERR_NOT_FOLLOWED), so it can be followed later without posting again.
 */
export class BoardPostError extends Error {
  override readonly name = "BoardPostError";
  constructor(
    readonly code: BoardPostErrorCode,
    message: string,
    readonly extra: { field?: string; statusLink?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
  }
}

/**
 * A board's address as a requester types it, `<56 characters>.onion` or `http://<…>.onion`
 * (its v3 checksum checked, rend-spec-v3 §6, as the board checks the onions posted to it), or a
 * board on this machine (`http://127.0.0.1:<port>`): the board's origin, `http://…`.
 */
export const boardAddressSchema = z
  .string()
  .trim()
  .min(1, "give the board's .onion address")
  .max(300, "at most 300 characters")
  .transform((value, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    };
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
    } catch {
      return fail("expected a board address such as <56 characters>.onion");
    }
    if (url.protocol !== "http:") {
      return fail(`expected http:// (Tor encrypts the way to an onion), got ${url.protocol}//`);
    }
    if (url.pathname !== "/" || url.search || url.hash || url.username) {
      return fail("expected the board's address alone, without a path");
    }
    if (isLoopbackHost(url.hostname)) return url.origin;
    if (!url.hostname.endsWith(".onion")) {
      return fail(`expected a .onion address (or a board on this machine), got ${url.hostname}`);
    }
    try {
      const { hostname } = parseOnionAddress(url.hostname);
      return `http://${hostname}${url.port ? `:${url.port}` : ""}`;
    } catch (error) {
      return fail((error as Error).message);
    }
  });

export const clusterRequestSchema = z.object({
  jobId: z.string().min(1, "expected a job id"),
  board: boardAddressSchema,
  title: z.string().trim().min(1, "give the request a title").max(120, "at most 120 characters"),
  description: z.string().trim().max(2000, "at most 2000 characters"),
  size: z
    .number({ message: "expected a whole number of workers" })
    .int("expected a whole number of workers")
    .min(1, "at least 1 worker")
    .max(1000, "at most 1000 workers"),
  sandbox: z.enum(["bwrap", "docker", "any"], { message: "expected bwrap, docker or any" }),
});
export type ClusterRequestOptions = z.input<typeof clusterRequestSchema>;

/** The circuits the console's board calls use: never shared with the host's or a worker's. */
const ISOLATION = "tormr-console:board";

/** A fresh circuit to an onion sometimes fails at first; reading the board's info is retried this often. */
const INFO_ATTEMPTS = 3;

/**
 * Posts the job's cluster request on the board, reaching it through the job host's tor (its SOCKS
 * listener, on circuits of its own) or directly for a board on this machine, with the stamp the
 * board asks for (minted here: seconds of one core at 20 bits), and makes the running job host
 * follow it for the job. The status link is the request's capability: keep it private.
 * @throws BoardPostError, one line saying what failed and what to do.
 */
export async function postClusterRequest(
  admin: AdminClient,
  options: ClusterRequestOptions,
): Promise<{ statusLink: string }> {
  const parsed = clusterRequestSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? "options");
    throw new BoardPostError("ERR_BAD_INPUT", `${field}: ${issue?.message}`, { field });
  }
  const { jobId, board, ...request } = parsed.data;
  const host = await admin.host().catch((error: unknown) => {
    throw new BoardPostError("ERR_HOST", (error as Error).message, { cause: error });
  });
  if (!host.onion) {
    throw new BoardPostError(
      "ERR_NO_TOR",
      "the job host runs without tor (start it with tormr host --tor): a board's volunteers reach it only through its onion",
    );
  }
  const transport = boardTransport(board, host.socks);
  try {
    const client = new BoardClient({
      baseUrl: board,
      ...(transport.agent ? { agent: transport.agent } : {}),
      timeoutMs: transport.timeouts.callMs,
    });
    const via = transport.kind === "tor" ? " through the job host's tor" : "";
    const info = await boardInfo(client, via);
    const posted = await client
      .post({
        ...request,
        onion: host.onion,
        stamp: mintStamp(`${info.onion}/post`, info.postBits),
      })
      .catch((error: unknown) => {
        throw boardError(error, "post the request", via);
      });
    const statusLink = `${board}${posted.statusPath}`;
    await admin.followBoard(jobId, statusLink).catch((error: unknown) => {
      const why = error instanceof AdminError ? error.message : String(error);
      throw new BoardPostError(
        "ERR_NOT_FOLLOWED",
        `the board took the request, but the job host did not follow it: ${why}`,
        { statusLink, cause: error },
      );
    });
    return { statusLink };
  } finally {
    transport.close();
  }
}

function boardTransport(board: string, socks: { host: string; port: number } | null): Transport {
  if (isLoopbackHost(new URL(board).hostname)) return directTransport();
  if (!socks) {
    throw new BoardPostError(
      "ERR_NO_TOR",
      "the job host's tor has no SOCKS port to reach the board through: enable one (SocksPort 9050 in its torrc)",
    );
  }
  return torTransport({ socks, isolation: ISOLATION });
}

async function boardInfo(client: BoardClient, via: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await client.info();
    } catch (error) {
      if (attempt >= INFO_ATTEMPTS || !unreachable(error))
        throw boardError(error, "give its info", via);
      await sleep(2_000 * attempt);
    }
  }
}

function unreachable(error: unknown): boolean {
  return error instanceof BoardApiError && ["ERR_UNREACHABLE", "ERR_TIMEOUT"].includes(error.code);
}

/** The board's answer as one line: it could not be reached, or it refused, with its message. */
function boardError(error: unknown, what: string, via: string): BoardPostError {
  const message = (error as Error).message;
  if (unreachable(error)) {
    return new BoardPostError(
      "ERR_BOARD_UNREACHABLE",
      `${message}${via ? ` (${via.trim()})` : ""}; check the address, or try again in a minute`,
      { cause: error },
    );
  }
  if (error instanceof BoardApiError) {
    return new BoardPostError(
      "ERR_BOARD_REFUSED",
      `the board refused to ${what}: ${message}`,
      error.field ? { field: error.field, cause: error } : { cause: error },
    );
  }
  // Not the board's refusal: an answer this console cannot read (not the board's API).
  return new BoardPostError(
    "ERR_BOARD_REFUSED",
    `the board's answer to ${what} could not be read; is the address a TorMR board?`,
    { cause: error },
  );
}

// Getting onto a board: the saved token if the board still knows it, else a new registration (stamp, signed keys) under the per-board identity.
import type { BoardIdentity } from "@tormr/crypto/board-identity";
import { mintStamp } from "@tormr/crypto/stamp";
import { type RegisterRequest, registrationBody } from "@tormr/protocol/board-api";
import { BoardApiError, type BoardClient } from "@tormr/protocol/board-client";
import { type BoardFile, readBoardFile, writeBoardFile } from "./board-file.ts";

export type BoardCalls = Pick<BoardClient, "register" | "heartbeat" | "poll" | "leave">;

export type Capabilities = RegisterRequest["capabilities"];

/** This worker on one board, as long as the process runs. */
export interface BoardSession {
  /** The board's onion, 56 characters. */
  board: string;
  pseudonym: string;
  token: string;
  heartbeatMs: number;
  pollMs: number;
  capabilities: Capabilities;
  /** SHA-256 (hex) of the tickets already joined with, oldest first. */
  usedTickets: string[];
  registeredAt: string;
}

export interface JoinBoardOptions {
  client: BoardCalls;
  board: string;
  identity: BoardIdentity;
  capabilities: Capabilities;
  /** The stamp work the board asks for (`info().registerBits`). */
  registerBits: number;
  configDir: string;
  log: (level: "info" | "warn", message: string) => void;
  /** For tests: the stamp minter. */
  mint?: (resource: string, bits: number) => string;
  now?: () => Date;
}

/**
 * The session on the board: the saved token when a heartbeat shows the board still knows it (no
 * new stamp), else a new registration, saved for the next start. Changed capabilities are
 * registered again, since the board matches on them; `forceRegister` skips the saved token.
 * @throws BoardApiError from the board (ERR_BANNED, ERR_STAMP, ERR_UNREACHABLE…).
 */
export async function joinBoard(
  options: JoinBoardOptions,
  forceRegister = false,
): Promise<{ session: BoardSession; reused: boolean }> {
  const saved = await readBoardFile(options.configDir, options.board);
  if (saved.state === "unusable") {
    options.log("warn", `${saved.why}; registering again, which replaces it`);
  }
  const previous = saved.state === "ok" ? saved.file : undefined;
  const same =
    previous !== undefined &&
    previous.pseudonym === options.identity.pseudonym &&
    sameCapabilities(previous.capabilities, options.capabilities);
  if (previous && same && !forceRegister) {
    try {
      await options.client.heartbeat(previous.token);
      return { session: { ...previous }, reused: true };
    } catch (error) {
      if (!(error instanceof BoardApiError && error.code === "ERR_TOKEN")) throw error;
      options.log("info", "the board no longer knows the saved token; registering again");
    }
  }
  return { session: await register(options, previous?.usedTickets ?? []), reused: false };
}

function sameCapabilities(a: Capabilities, b: Capabilities): boolean {
  return a.memoryMb === b.memoryMb && a.sandbox === b.sandbox && a.slots === b.slots;
}

async function register(options: JoinBoardOptions, usedTickets: string[]): Promise<BoardSession> {
  const bits = options.registerBits;
  options.log("info", `computing the board's anti-flood stamp (2^${bits} hashes)…`);
  const started = performance.now();
  const stamp = (options.mint ?? mintStamp)(`${options.board}/register`, bits);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  options.log("info", `stamp computed in ${seconds} s; registering`);
  const answer = await options.client.register(
    registrationBody(options.board, options.identity, options.capabilities, stamp),
  );
  if (answer.pseudonym !== options.identity.pseudonym) {
    // The board names workers by their signing key's thumbprint; any other name is a bad board.
    throw new BoardApiError(
      0,
      "ERR_BAD_MESSAGE",
      `the board registered this worker as ${answer.pseudonym}, not as its key's pseudonym ${options.identity.pseudonym}`,
    );
  }
  const file: BoardFile = {
    version: 1,
    board: options.board,
    pseudonym: answer.pseudonym,
    token: answer.token,
    heartbeatMs: answer.heartbeatMs,
    pollMs: answer.pollMs,
    capabilities: options.capabilities,
    usedTickets,
    registeredAt: (options.now?.() ?? new Date()).toISOString(),
  };
  await saveSession(options.configDir, file, options.log);
  return file;
}

/** Saves the session; a file that cannot be written costs a stamp at the next start, no more. */
export async function saveSession(
  configDir: string,
  session: BoardSession,
  log: (level: "warn", message: string) => void,
): Promise<void> {
  await writeBoardFile(configDir, { version: 1, ...session }).catch((error: unknown) =>
    log("warn", `cannot save the board registration: ${(error as Error).message}`),
  );
}

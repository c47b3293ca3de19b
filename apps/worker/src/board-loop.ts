// Board mode's loop: wait on the board for a seat, join the job host it names, run the job, and wait again until stopped.
import { setTimeout as sleep } from "node:timers/promises";
import type { BoardAssignment } from "@tormr/protocol/board-api";
import { BoardApiError } from "@tormr/protocol/board-client";
import { ticketHash } from "./board-file.ts";
import type { BoardCalls, BoardSession } from "./board-registration.ts";

export type BoardState = "registering" | "waiting" | "joining";

export interface BoardLoopOptions {
  client: BoardCalls;
  /** Registers, or takes up the saved registration; `force` skips the saved token. */
  connect(force: boolean): Promise<BoardSession>;
  /** Saves the session (its used tickets); failures are the callee's to report. */
  save(session: BoardSession): Promise<void>;
  /** Joins the job host and runs the job until it is over for this worker (or `signal`). */
  runJob(assignment: BoardAssignment, signal: AbortSignal): Promise<void>;
  onState(state: BoardState, session?: BoardSession, assignment?: BoardAssignment): void;
  log(level: "info" | "warn", message: string, fields?: Record<string, unknown>): void;
  /** Aborting stops the worker: a running job hands its tasks back, then the worker leaves the board. */
  signal: AbortSignal;
  /** How long the board may stay unreachable before the worker gives up. Default 30 minutes. */
  patienceMs?: number;
  /** The longest wait between retries. Default 60 s. */
  maxBackoffMs?: number;
}

const TRANSIENT = new Set(["ERR_UNREACHABLE", "ERR_TIMEOUT", "ERR_RATE_LIMITED"]);

/** The board did not answer, or answered that it is busy: asking again later may work. */
export function isTransient(error: unknown): boolean {
  return error instanceof BoardApiError && (TRANSIENT.has(error.code) || error.status >= 500);
}

/**
 * Calls `call` until it answers, backing off from 1 s to `maxBackoffMs` while the board is
 * unreachable, for up to `patienceMs` in all. Refusals are thrown at once.
 * @throws BoardApiError ERR_UNREACHABLE once patience runs out (saying for how long).
 */
export async function untilBoardAnswers<T>(
  call: () => Promise<T>,
  options: Pick<BoardLoopOptions, "log" | "signal" | "patienceMs" | "maxBackoffMs">,
): Promise<T> {
  const patienceMs = options.patienceMs ?? 30 * 60_000;
  let since: number | undefined;
  for (let failures = 0; ; failures++) {
    try {
      return await call();
    } catch (error) {
      if (options.signal.aborted || !isTransient(error)) throw error;
      since ??= Date.now();
      const message = (error as Error).message;
      if (Date.now() - since > patienceMs) {
        throw new BoardApiError(
          0,
          "ERR_UNREACHABLE",
          `the board stayed unreachable for ${Math.round(patienceMs / 60_000)} min (${message})`,
          undefined,
          { cause: error },
        );
      }
      const waitMs = Math.min(options.maxBackoffMs ?? 60_000, 1_000 * 2 ** failures);
      options.log("warn", `${message}; trying again in ${Math.round(waitMs / 1000)} s`, {
        code: (error as BoardApiError).code,
      });
      await sleep(waitMs, undefined, { signal: options.signal }).catch(() => {});
      if (options.signal.aborted) throw error;
    }
  }
}

/**
 * Runs until `signal`: polls (which is also the heartbeat), joins each new seat's job host once,
 * and skips a seat whose ticket was already used (its job is over, but the board has not freed
 * it yet). A failed job is logged and the worker goes back to waiting. On the way out it leaves
 * the board.
 * @throws BoardApiError ERR_BANNED, a refused registration, or a board unreachable for too long.
 */
export async function runBoardLoop(options: BoardLoopOptions): Promise<void> {
  const { client, signal } = options;
  const retrying = <T>(call: () => Promise<T>) => untilBoardAnswers(call, options);
  options.onState("registering");
  let session: BoardSession;
  try {
    session = await retrying(() => options.connect(false));
  } catch (error) {
    // Stopped before the board knew of this worker: there is nothing to leave.
    if (signal.aborted) return;
    throw error;
  }
  const used = new Set(session.usedTickets);
  let lingering: string | undefined;
  while (!signal.aborted) {
    options.onState("waiting", session);
    let answer: Awaited<ReturnType<BoardCalls["poll"]>>;
    try {
      const current = session;
      answer = await retrying(() => client.poll(current.token, current.pollMs, signal));
    } catch (error) {
      if (signal.aborted) break;
      if (error instanceof BoardApiError && error.code === "ERR_TOKEN") {
        options.log("info", "the board no longer knows this worker's token; registering again");
        options.onState("registering", session);
        session = await retrying(() => options.connect(true));
        for (const hash of session.usedTickets) used.add(hash);
        continue;
      }
      throw error;
    }
    const assignment = answer.state === "assigned" ? answer.assignment : undefined;
    if (assignment === undefined) continue;
    const hash = ticketHash(assignment.ticket);
    if (used.has(hash)) {
      if (lingering !== hash) {
        options.log(
          "info",
          `the board still holds this worker's seat of request ${assignment.requestId}, whose ` +
            "ticket was used; waiting for it to free the seat",
        );
        lingering = hash;
      }
      // The poll answered at once: wait as long as a held poll would have.
      await sleep(Math.min(session.pollMs, 30_000), undefined, { signal }).catch(() => {});
      continue;
    }
    used.add(hash);
    session = { ...session, usedTickets: [...session.usedTickets, hash] };
    await options.save(session);
    await joinOnce(options, session, assignment);
  }
  // Only a stop gets here: a ban or a board gone for good leaves nothing to tell it.
  await leaveBoard(options, session);
}

/** One job; the board is told the worker is alive meanwhile, so it is fresh when the job is over. */
async function joinOnce(
  options: BoardLoopOptions,
  session: BoardSession,
  assignment: BoardAssignment,
): Promise<void> {
  options.onState("joining", session, assignment);
  options.log("info", `seated for request ${assignment.requestId}: joining ${assignment.jobHost}`, {
    requestId: assignment.requestId,
    jobHost: assignment.jobHost,
  });
  const beat = setInterval(() => {
    options.client.heartbeat(session.token).catch(() => {});
  }, session.heartbeatMs);
  try {
    await options.runJob(assignment, options.signal);
  } catch (error) {
    if (options.signal.aborted) return;
    const code = (error as { code?: unknown }).code;
    options.log(
      "warn",
      `the job at ${assignment.jobHost} did not run: ${(error as Error).message}; back to the board`,
      typeof code === "string" ? { code } : {},
    );
  } finally {
    clearInterval(beat);
  }
}

async function leaveBoard(options: BoardLoopOptions, session: BoardSession): Promise<void> {
  try {
    await options.client.leave(session.token);
    options.log("info", `left the board (pseudonym ${session.pseudonym})`);
  } catch (error) {
    options.log("warn", `could not tell the board this worker left: ${(error as Error).message}`);
  }
}

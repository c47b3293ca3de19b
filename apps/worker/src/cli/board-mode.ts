// `start --board`: the worker's per-board identity on the board and with every job host it seats it with, until stopped.
import { Agent } from "node:http";
import { type BoardIdentity, deriveBoardIdentity } from "@tormr/crypto/board-identity";
import { type BoardAssignment, boardKeys } from "@tormr/protocol/board-api";
import { BoardApiError, BoardClient } from "@tormr/protocol/board-client";
import type { Sandbox } from "@tormr/sandbox/sandbox";
import { TIMEOUTS, type Transport } from "@tormr/tor/transport";
import { runBoardLoop, untilBoardAnswers } from "../board-loop.ts";
import { joinBoard, saveSession } from "../board-registration.ts";
import type { WorkerIdentity } from "../identity.ts";
import {
  attachVolunteerTor,
  openJobHostLink,
  type TorAttachment,
  type TorOptions,
} from "../tor-link.ts";
import { applyEvent, initialStatus, type WorkerStatus } from "../worker-status.ts";
import type { BoardTarget } from "./board-args.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import { commonLoopOptions, type LoopContext, watchStops } from "./loop-options.ts";

export interface BoardModeContext extends LoopContext {
  sandbox: Sandbox;
  board: BoardTarget;
  /** The identity in identity.json: the per-board one is derived from it, never shown itself. */
  identity: WorkerIdentity;
  configDir: string;
  tor: TorOptions;
}

/** Runs board mode until a stop signal (exit 0), a ban, or a board gone for too long (thrown). */
export async function runBoardMode(ctx: BoardModeContext): Promise<ExitCode> {
  const { io, reporter, keeper, board } = ctx;
  const controller = new AbortController();
  const signal = controller.signal;
  const unwatch = watchStops(ctx, controller, "leaving the board");
  const log = (level: "info" | "warn", message: string, fields?: Record<string, unknown>) =>
    reporter.log(level, message, fields);
  let tor: TorAttachment | undefined;
  let boardTransport: Transport | undefined;
  // A loopback board gets an agent of its own: once tor is attached for a job host, node's
  // default agents refuse every connection (fail closed).
  const loopback = new Agent({ keepAlive: true });
  try {
    if (board.transport === "tor") {
      tor = await attachVolunteerTor(ctx.tor);
      boardTransport = tor.transport(`tormr-worker:board:${board.serviceId}`);
      log("info", `reaching the board through ${tor.describe}`);
    }
    const client = new BoardClient({
      baseUrl: board.url,
      agent: boardTransport?.agent ?? loopback,
      timeoutMs: TIMEOUTS[board.transport].callMs,
    });
    const info = await untilBoardAnswers(() => client.info(), { log, signal });
    if (board.serviceId !== undefined && info.onion !== board.serviceId) {
      throw new BoardApiError(
        0,
        "ERR_WRONG_BOARD",
        `${board.url} calls itself ${info.onion}.onion; a board that claims another's address ` +
          "is not talked to",
      );
    }
    const identity = deriveBoardIdentity(ctx.identity, info.onion);
    keeper.set({
      ...initialStatus({
        pid: io.pid,
        board: board.url,
        pseudonym: identity.pseudonym,
        sandbox: ctx.sandbox.kind,
        slots: ctx.config.slots,
        now: io.now(),
      }),
      board: { url: board.url, onion: info.onion },
    });
    log("info", `on board ${info.onion}.onion as ${identity.pseudonym}`, {
      board: info.onion,
      pseudonym: identity.pseudonym,
    });
    let last: string | undefined;
    const capabilities = {
      memoryMb: ctx.config.memoryMb,
      sandbox: ctx.sandbox.kind,
      slots: ctx.config.slots,
    };
    await runBoardLoop({
      client,
      signal,
      log,
      async connect(force) {
        const { session, reused } = await joinBoard(
          {
            client,
            board: info.onion,
            identity,
            capabilities,
            registerBits: info.registerBits,
            configDir: ctx.configDir,
            log,
          },
          force,
        );
        log(
          "info",
          reused
            ? `took up the saved registration as ${session.pseudonym} (no new stamp)`
            : `registered as ${session.pseudonym}`,
          { pseudonym: session.pseudonym, reused },
        );
        return session;
      },
      save: (session) => saveSession(ctx.configDir, session, log),
      onState(state, _session, assignment) {
        if (state === "waiting" && last !== "waiting")
          log("info", "waiting on the board for a seat");
        last = state;
        const current = keeper.current;
        if (current === undefined) return;
        const next = boardStatus(current, state, assignment, io.now());
        if (next === current) return;
        keeper.set(next);
        reporter.status(next);
      },
      async runJob(assignment, jobSignal) {
        tor ??= await attachVolunteerTor(ctx.tor);
        await runJob(ctx, tor, identity, assignment, jobSignal);
      },
    });
    if (keeper.current) keeper.set({ ...keeper.current, state: "left", reason: "stopped" });
    return EXIT.ok;
  } catch (error) {
    // Stopped while the board was still being reached: nothing to undo, and no error.
    if (signal.aborted && !(error instanceof BoardApiError && error.code === "ERR_BANNED")) {
      if (keeper.current) keeper.set({ ...keeper.current, state: "left", reason: "stopped" });
      return EXIT.ok;
    }
    throw error;
  } finally {
    unwatch();
    boardTransport?.close();
    loopback.destroy();
    await tor?.close();
  }
}

/** The status without its job: between jobs, a board-mode worker has no job host. */
function offJob(status: WorkerStatus): WorkerStatus {
  const { jobHost: _host, jobId: _job, reason: _reason, ...rest } = status;
  return { ...rest, running: [] };
}

/** The status in a board state; the same object when nothing changes. */
function boardStatus(
  current: WorkerStatus,
  state: "registering" | "waiting" | "joining",
  assignment: BoardAssignment | undefined,
  now: Date,
): WorkerStatus {
  if (current.state === "stopping") return current;
  const updatedAt = now.toISOString();
  if (state === "registering") return { ...current, state: "starting", updatedAt };
  if (state === "waiting") {
    if (current.state === "waiting" && current.jobHost === undefined) return current;
    return { ...offJob(current), state: "waiting", updatedAt };
  }
  return {
    ...current,
    state: "joining",
    ...(assignment ? { jobHost: assignment.jobHost } : {}),
    updatedAt,
  };
}

/**
 * One job host, as the board named it: joined with the per-board signing and wrapping keys, and
 * let in by its onion through the per-board client-authorization key (never tor-client-auth.json),
 * so the job host knows this worker by the same pseudonym the board does, and by nothing else.
 */
async function runJob(
  ctx: BoardModeContext,
  tor: TorAttachment,
  identity: BoardIdentity,
  assignment: BoardAssignment,
  signal: AbortSignal,
): Promise<void> {
  const { io, keeper, reporter } = ctx;
  const link = await openJobHostLink({
    jobHost: assignment.jobHost,
    transport: "tor",
    configDir: ctx.configDir,
    tor,
    clientAuthKey: {
      publicKey: boardKeys(identity).clientAuth,
      privateKey: identity.clientAuth.privateKey.toString("base64"),
    },
  });
  try {
    const runWorkerLoop = await io.loadWorkerLoop();
    await runWorkerLoop({
      ...commonLoopOptions(ctx, signal),
      jobHost: assignment.jobHost,
      ticket: assignment.ticket,
      identity: {
        signing: identity.signing,
        wrapping: identity.wrapping,
        pseudonym: identity.pseudonym,
      },
      ...(link.transport.agent ? { agent: link.transport.agent } : {}),
      ...(link.clientAuth ? { clientAuth: link.clientAuth } : {}),
      callTimeoutMs: link.transport.timeouts.callMs,
      joinPatienceMs: link.transport.timeouts.reachMs,
      admission: { patienceMs: link.transport.timeouts.reachMs, refresh: () => link.refresh() },
      signal,
      onEvent(event) {
        if (keeper.current === undefined) return;
        let next = applyEvent(keeper.current, event, io.now());
        // The job is over for this worker, not the worker: it goes back to the board.
        if (event.type === "left") {
          next = { ...offJob(next), state: signal.aborted ? "stopping" : "waiting" };
        }
        keeper.set(next);
        reporter.event(event, next);
      },
    });
  } finally {
    await link.close();
  }
}

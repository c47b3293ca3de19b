import type { BoardAssignment } from "@tormr/protocol/board-api";
import { BoardApiError } from "@tormr/protocol/board-client";
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { describe, expect, it } from "vitest";
import { ticketHash } from "./board-file.ts";
import { type BoardLoopOptions, runBoardLoop, untilBoardAnswers } from "./board-loop.ts";
import type { BoardCalls, BoardSession } from "./board-registration.ts";

const HOST = `http://${"b".repeat(56)}.onion`;
const T1 = "1".repeat(43);
const T2 = "2".repeat(43);

type PollAnswer = Awaited<ReturnType<BoardCalls["poll"]>>;
const waiting: PollAnswer = { v: PROTOCOL_VERSION, state: "waiting" };
const seat = (ticket: string, requestId = "r1"): PollAnswer => ({
  v: PROTOCOL_VERSION,
  state: "assigned",
  assignment: { requestId, jobHost: HOST, ticket },
});

function session(overrides: Partial<BoardSession> = {}): BoardSession {
  return {
    board: "a".repeat(56),
    pseudonym: "p1",
    token: "t".repeat(43),
    heartbeatMs: 60_000,
    pollMs: 5,
    capabilities: { memoryMb: 512, sandbox: "bwrap", slots: 1 },
    usedTickets: [],
    registeredAt: "2025-01-01T00:00:00.000Z",
    ...overrides,
  };
}

/**
 * A board whose polls answer from `script` in turn (an Error is thrown); once the script is
 * spent, the worker is stopped. Records every call.
 */
function scripted(script: Array<PollAnswer | Error>, options: Partial<BoardLoopOptions> = {}) {
  const controller = new AbortController();
  const calls: string[] = [];
  const jobs: BoardAssignment[] = [];
  const saved: BoardSession[] = [];
  const logs: string[] = [];
  const states: string[] = [];
  const client: BoardCalls = {
    async poll(token) {
      calls.push(`poll ${token.slice(0, 1)}`);
      const next = script.shift();
      if (next === undefined) {
        controller.abort();
        return waiting;
      }
      if (next instanceof Error) throw next;
      return next;
    },
    heartbeat: async () => {
      calls.push("heartbeat");
    },
    leave: async (token) => {
      calls.push(`leave ${token.slice(0, 1)}`);
    },
    register: async () => {
      throw new Error("not used: connect is faked");
    },
  };
  const run = () =>
    runBoardLoop({
      client,
      signal: controller.signal,
      connect: async (force) => {
        calls.push(force ? "register" : "connect");
        return force ? session({ token: "n".repeat(43) }) : session();
      },
      save: async (s) => {
        saved.push(s);
      },
      runJob: async (assignment) => {
        jobs.push(assignment);
      },
      onState: (state) => states.push(state),
      log: (_level, message) => logs.push(message),
      maxBackoffMs: 1,
      ...options,
    });
  return { run, calls, jobs, saved, logs, states, controller };
}

describe("runBoardLoop", () => {
  it("joins each seat's job host once, and waits while the board still shows a used ticket", async () => {
    const board = scripted([waiting, seat(T1), seat(T1), seat(T1), waiting, seat(T2, "r2")]);
    await board.run();
    expect(board.jobs.map((job) => job.ticket)).toEqual([T1, T2]);
    expect(board.saved.at(-1)?.usedTickets).toEqual([ticketHash(T1), ticketHash(T2)]);
    expect(board.logs.filter((line) => line.includes("whose ticket was used"))).toHaveLength(1);
    expect(board.calls.at(-1)).toBe("leave t");
    expect(board.states.slice(0, 4)).toEqual(["registering", "waiting", "waiting", "joining"]);
  });

  it("skips a ticket a previous run already used (remembered in the saved session)", async () => {
    const board = scripted([seat(T1), waiting], {
      connect: async () => session({ usedTickets: [ticketHash(T1)] }),
    });
    await board.run();
    expect(board.jobs).toEqual([]);
  });

  it("logs a job that fails and goes back to waiting on the board", async () => {
    const board = scripted([seat(T1), waiting, seat(T2)], {
      runJob: async (assignment) => {
        if (assignment.ticket === T1) {
          throw Object.assign(new Error("the ticket was used"), { code: "ERR_TICKET" });
        }
      },
    });
    await board.run();
    expect(board.logs).toContain(
      `the job at ${HOST} did not run: the ticket was used; back to the board`,
    );
    expect(board.calls.filter((call) => call.startsWith("poll"))).toHaveLength(4);
  });

  it("registers again when the board no longer knows the token, and polls with the new one", async () => {
    const board = scripted([
      new BoardApiError(401, "ERR_TOKEN", "no worker has this token"),
      waiting,
    ]);
    await board.run();
    expect(board.calls).toEqual(["connect", "poll t", "register", "poll n", "poll n", "leave n"]);
  });

  it("retries an unreachable board, then gives up after its patience, without leaving", async () => {
    const away = new BoardApiError(0, "ERR_UNREACHABLE", "cannot reach the board: ECONNREFUSED");
    const board = scripted([waiting, away, away, waiting]);
    await board.run();
    expect(board.logs).toContain("cannot reach the board: ECONNREFUSED; trying again in 0 s");

    const gone = scripted(
      Array.from({ length: 1000 }, () => away),
      { patienceMs: 20 },
    );
    await expect(gone.run()).rejects.toMatchObject({
      code: "ERR_UNREACHABLE",
      message: expect.stringMatching(/^the board stayed unreachable for 0 min/),
    });
    expect(gone.calls.some((call) => call.startsWith("leave"))).toBe(false);
  });

  it("ends on a ban at once", async () => {
    const banned = new BoardApiError(403, "ERR_BANNED", "pseudonym p1 is banned from this board");
    const board = scripted([waiting, banned, waiting]);
    await expect(board.run()).rejects.toBe(banned);
    expect(board.calls).toEqual(["connect", "poll t", "poll t"]);
  });

  it("stopped while registering: nothing to leave", async () => {
    const controller = new AbortController();
    const calls: string[] = [];
    controller.abort();
    await runBoardLoop({
      client: { leave: async () => void calls.push("leave") } as unknown as BoardCalls,
      signal: controller.signal,
      connect: async () => {
        throw new BoardApiError(0, "ERR_UNREACHABLE", "away");
      },
      save: async () => {},
      runJob: async () => {},
      onState: () => {},
      log: () => {},
    });
    expect(calls).toEqual([]);
  });
});

describe("untilBoardAnswers", () => {
  it("does not retry a refusal", async () => {
    let calls = 0;
    const refusal = new BoardApiError(400, "ERR_STAMP", "the stamp was spent");
    await expect(
      untilBoardAnswers(
        async () => {
          calls++;
          throw refusal;
        },
        { log: () => {}, signal: new AbortController().signal },
      ),
    ).rejects.toBe(refusal);
    expect(calls).toBe(1);
  });
});

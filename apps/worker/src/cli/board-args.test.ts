import { describe, expect, it } from "vitest";
import { boardOf, checkBoard } from "./board-args.ts";
import { UsageError } from "./usage-error.ts";

/** rend-spec-v3's test vector: a valid v3 address. */
const ONION = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";
const none = { board: undefined, jobHost: undefined, ticket: undefined };

function refusal(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error("expected a UsageError");
}

describe("checkBoard", () => {
  it("takes xxxx.onion, http://xxxx.onion and http://xxxx.onion/, through tor", () => {
    for (const form of [`${ONION}.onion`, `http://${ONION}.onion`, `http://${ONION}.onion/`]) {
      expect(checkBoard(form, {})).toEqual({
        url: `http://${ONION}.onion`,
        serviceId: ONION,
        transport: "tor",
      });
    }
    expect(checkBoard(`${ONION.toUpperCase()}.ONION`, {}).serviceId).toBe(ONION);
  });

  it("reaches a loopback board directly, and learns its onion from it later", () => {
    expect(checkBoard("http://127.0.0.1:3000", {})).toEqual({
      url: "http://127.0.0.1:3000",
      serviceId: undefined,
      transport: "direct",
    });
    expect(checkBoard("http://127.0.0.1:3000", { transport: "direct" }).transport).toBe("direct");
  });

  it("refuses what is not a board's address, saying which forms it takes", () => {
    const cases: Array<[string, object, RegExp]> = [
      [
        "not a url",
        {},
        /expected xxxx\.onion, http:\/\/xxxx\.onion or http:\/\/127\.0\.0\.1:<port>/,
      ],
      [`https://${ONION}.onion`, {}, /plain http/],
      [`http://${ONION}.onion/status/x`, {}, /without a path/],
      [`http://${ONION}.onion/?a=1`, {}, /without a path, query/],
      [`http://a${ONION.slice(1)}.onion`, {}, /not a v3 onion address/],
      ["http://abc.onion", {}, /56 base32 characters/],
      ["http://board.example.org", {}, /--board: .*reveal your IP address/],
      [`${ONION}.onion`, { transport: "direct" }, /--board: .*only Tor reaches/],
    ];
    for (const [value, flags, message] of cases) {
      const error = refusal(() => checkBoard(value, flags));
      expect(error.code, value).toBe("ERR_BAD_VALUE");
      expect(error.message, value).toMatch(message);
    }
  });
});

describe("boardOf", () => {
  it("refuses --board with --job-host or --ticket", () => {
    for (const flags of [
      { ...none, board: ONION, jobHost: "http://127.0.0.1:7311" },
      { ...none, board: ONION, ticket: "t" },
    ]) {
      const error = refusal(() => boardOf(flags, none));
      expect(error.code).toBe("ERR_CONFLICT");
      expect(error.message).toContain("--board and --job-host/--ticket contradict each other");
    }
  });

  it("takes TORMR_WORKER_BOARD when no flag says otherwise, and flags over the environment", () => {
    expect(boardOf(none, { ...none, board: ONION })).toBe(ONION);
    expect(boardOf({ ...none, board: ONION }, { ...none, jobHost: "x" })).toBe(ONION);
    expect(boardOf({ ...none, jobHost: "x" }, { ...none, board: ONION })).toBeUndefined();
    expect(refusal(() => boardOf(none, { board: ONION, jobHost: "x", ticket: "t" })).code).toBe(
      "ERR_CONFLICT",
    );
  });
});

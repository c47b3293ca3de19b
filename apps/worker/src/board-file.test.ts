import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveBoardIdentity } from "@tormr/crypto/board-identity";
import { generateKeyPair, verifyEd25519 } from "@tormr/crypto/keys";
import { registrationStatement } from "@tormr/protocol/board-api";
import { BoardApiError } from "@tormr/protocol/board-client";
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BoardFile, boardFilePath, readBoardFile, writeBoardFile } from "./board-file.ts";
import { type BoardCalls, joinBoard } from "./board-registration.ts";

const BOARD = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";
const TOKEN = "k".repeat(43);
const identity = deriveBoardIdentity({ signing: generateKeyPair("Ed25519") }, BOARD);
const capabilities = { memoryMb: 512, sandbox: "bwrap" as const, slots: 1 };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tormr-board-file-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function saved(overrides: Partial<BoardFile> = {}): BoardFile {
  return {
    version: 1,
    board: BOARD,
    pseudonym: identity.pseudonym,
    token: TOKEN,
    heartbeatMs: 60_000,
    pollMs: 25_000,
    capabilities,
    usedTickets: [],
    registeredAt: "2025-01-01T00:00:00.000Z",
    ...overrides,
  };
}

/** A board that knows `known` tokens and registers anyone, recording what it was sent. */
function fakeBoard(known: string[] = []) {
  const calls: string[] = [];
  const registrations: Parameters<BoardCalls["register"]>[0][] = [];
  const client: BoardCalls = {
    async heartbeat(token) {
      calls.push("heartbeat");
      if (!known.includes(token)) throw new BoardApiError(401, "ERR_TOKEN", "no worker");
    },
    async register(body) {
      calls.push("register");
      registrations.push(body);
      return {
        v: PROTOCOL_VERSION,
        pseudonym: identity.pseudonym,
        token: "n".repeat(43),
        heartbeatMs: 1000,
        pollMs: 500,
      };
    },
    poll: async () => {
      throw new Error("not here");
    },
    leave: async () => {},
  };
  return { client, calls, registrations };
}

const connect = (client: BoardCalls, logs: string[] = []) =>
  joinBoard({
    client,
    board: BOARD,
    identity,
    capabilities,
    registerBits: 4,
    configDir: dir,
    log: (_level, message) => logs.push(message),
  });

describe("the board file", () => {
  it("is written 0600 in a 0700 folder and read back", async () => {
    await writeBoardFile(dir, saved());
    const path = boardFilePath(dir, BOARD);
    expect(path).toBe(join(dir, "boards", `${BOARD}.json`));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, "boards"))).mode & 0o777).toBe(0o700);
    expect(await readBoardFile(dir, BOARD)).toEqual({ state: "ok", file: saved() });
  });

  it("calls a missing file missing, and a corrupt, foreign or open one unusable, by its path", async () => {
    expect(await readBoardFile(dir, BOARD)).toEqual({ state: "missing" });
    const path = boardFilePath(dir, BOARD);
    await mkdir(join(dir, "boards"), { recursive: true });
    const cases: Array<[string, RegExp]> = [
      ["{not json", /is not JSON/],
      [JSON.stringify({ ...saved(), token: "short" }), /is not a board registration \(token:/],
      [JSON.stringify(saved({ board: "a".repeat(56) })), /is for board a{56}/],
    ];
    for (const [text, why] of cases) {
      await writeFile(path, text, { mode: 0o600 });
      const read = await readBoardFile(dir, BOARD);
      expect(read.state).toBe("unusable");
      expect(read.state === "unusable" && read.why).toMatch(why);
      expect(read.state === "unusable" && read.why).toContain(path);
    }
    await writeBoardFile(dir, saved());
    await chmod(path, 0o644);
    const open = await readBoardFile(dir, BOARD);
    expect(open.state === "unusable" && open.why).toBe(
      `${path} has mode 644, so its token may have leaked`,
    );
  });
});

describe("joinBoard", () => {
  it("takes up a saved token the board still knows: no stamp, no registration", async () => {
    await writeBoardFile(dir, saved());
    const board = fakeBoard([TOKEN]);
    const { session, reused } = await connect(board.client);
    expect(reused).toBe(true);
    expect(session.token).toBe(TOKEN);
    expect(board.calls).toEqual(["heartbeat"]);
  });

  it("registers with a signed statement over board, stamp and keys, and saves the token", async () => {
    const board = fakeBoard();
    const logs: string[] = [];
    const { session, reused } = await connect(board.client, logs);
    expect(reused).toBe(false);
    expect(board.calls).toEqual(["register"]);
    const body = board.registrations[0]!;
    expect(body.stamp).toMatch(new RegExp(`^1:4:\\d{10}:${BOARD}/register:`));
    expect(body.keys.signing).toBe(identity.signing.publicKey.toString("base64url"));
    expect(body.keys.clientAuth).toMatch(/^[A-Z2-7]{52}$/);
    expect(body.capabilities).toEqual(capabilities);
    expect(
      verifyEd25519(
        body.keys.signing,
        registrationStatement(BOARD, body.stamp, body.keys),
        body.signature,
      ),
    ).toBe(true);
    expect(logs[0]).toBe("computing the board's anti-flood stamp (2^4 hashes)…");
    const read = await readBoardFile(dir, BOARD);
    expect(read.state === "ok" && read.file.token).toBe(session.token);
  });

  it("registers again when the board forgot the token, keeping the used tickets", async () => {
    await writeBoardFile(dir, saved({ usedTickets: ["ab".repeat(32)] }));
    const board = fakeBoard();
    const { session } = await connect(board.client);
    expect(board.calls).toEqual(["heartbeat", "register"]);
    expect(session.usedTickets).toEqual(["ab".repeat(32)]);
  });

  it("replaces a corrupt file by registering, and names it", async () => {
    const path = boardFilePath(dir, BOARD);
    await mkdir(join(dir, "boards"), { recursive: true });
    await writeFile(path, "garbage", { mode: 0o600 });
    const board = fakeBoard();
    const logs: string[] = [];
    await connect(board.client, logs);
    expect(logs[0]).toBe(`${path} is not JSON; registering again, which replaces it`);
    expect(board.calls).toEqual(["register"]);
    expect(JSON.parse(await readFile(path, "utf8")).token).toBe("n".repeat(43));
  });

  it("registers again when the capabilities changed (the board matches on them)", async () => {
    await writeBoardFile(dir, saved({ capabilities: { ...capabilities, memoryMb: 256 } }));
    const board = fakeBoard([TOKEN]);
    await connect(board.client);
    expect(board.calls).toEqual(["register"]);
  });

  it("passes the board's refusals on (a ban is not retried)", async () => {
    const board = fakeBoard();
    board.client.register = async () => {
      throw new BoardApiError(403, "ERR_BANNED", "pseudonym x is banned from this board");
    };
    await expect(connect(board.client)).rejects.toMatchObject({ code: "ERR_BANNED" });
  });
});

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveBoardIdentity } from "@tormr/crypto/board-identity";
import { generateKeyPair } from "@tormr/crypto/keys";
import { mintStamp } from "@tormr/crypto/stamp";
import { type BoardDb, openBoardDb } from "@tormr/db/board";
import { registrationBody } from "@tormr/protocol/board-api";
import { serviceIdFromPublicKey } from "@tormr/tor/onion-address";
import { afterAll, beforeAll } from "vitest";
import { admitWorkers } from "../src/server/board/attach-request.ts";
import { clusterOf } from "../src/server/board/cluster-of.ts";
import { boardSettings, stampResource } from "../src/server/board/settings.ts";

/** rend-spec-v3's test vector: a valid v3 address, here the board's own. */
export const BOARD_ONION = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd";
/** Another valid v3 address (of a fresh key), for the job host. */
export const HOST_ONION = serviceIdFromPublicKey(generateKeyPair("Ed25519").publicKey);

/**
 * Settings whose stamps cost 8 bits (a few hundred hashes, so tests stay fast), on a board that
 * takes onions on trust: the challenge through Tor has its own tests (board-attach, the Tor e2e).
 */
export const SETTINGS = boardSettings({
  onion: BOARD_ONION,
  registerBits: 8,
  postBits: 8,
  trustOnions: true,
});

/** The same board, verifying every request's onion before it forms. */
export const VERIFYING = boardSettings({ ...SETTINGS, trustOnions: false });

export async function boardDb(): Promise<{ db: BoardDb; dir: string; cleanup(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "tormr-board-"));
  const db = await openBoardDb(join(dir, "board.db"));
  return {
    db,
    dir,
    async cleanup() {
      await db.$disconnect();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh board database for the calling test file: opened before its tests (handed to `use`)
 * and removed after them.
 */
export function withBoardDb(use: (db: BoardDb) => void): void {
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await boardDb();
    cleanup = opened.cleanup;
    use(opened.db);
  }, 60_000);
  afterAll(() => cleanup?.());
}

export const stamp = (action: "register" | "post") => mintStamp(stampResource(SETTINGS, action), 8);

/** A registration request as a worker would send it, signed with its per-board key. */
export function registration(
  options: { memoryMb?: number; sandbox?: "docker" | "bwrap"; board?: string } = {},
) {
  const onion = options.board ?? BOARD_ONION;
  const board = deriveBoardIdentity({ signing: generateKeyPair("Ed25519") }, onion);
  const body = registrationBody(
    onion,
    board,
    { memoryMb: options.memoryMb ?? 1024, sandbox: options.sandbox ?? "bwrap", slots: 1 },
    mintStamp(`${onion}/register`, 8),
  );
  return { pseudonym: board.pseudonym, body };
}

export function requestFields(overrides: Record<string, unknown> = {}) {
  return {
    title: "Word count of the archive",
    description: "A Hadoop Streaming word count.",
    size: 3,
    onion: `${HOST_ONION}.onion`,
    minMemoryMb: 256,
    sandbox: "any",
    stamp: stamp("post"),
    ...overrides,
  };
}

/** What the request's job host does once its onion lets the cluster in: admits every member. */
export async function admitCluster(db: BoardDb, statusToken: string): Promise<number> {
  const members = await clusterOf(db, statusToken);
  return admitWorkers(db, statusToken, { ticketHashes: members.map((m) => m.ticketHash) });
}

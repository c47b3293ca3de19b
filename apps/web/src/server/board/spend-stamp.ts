// A stamp is good once: checked, then its digest recorded in the same breath, so a replay is refused.
import { checkStamp, stampDigest } from "@tormr/crypto/stamp";
import type { BoardDb, BoardPrisma } from "@tormr/db/board";
import { withBusyRetry } from "./busy-retry.ts";
import { BoardError } from "./errors.ts";
import { type BoardSettings, stampResource } from "./settings.ts";

/** How long a stamp stays good after its date; spent ones are forgotten after that. */
export const STAMP_MAX_AGE_MS = 60 * 60_000;

const PROBLEMS = {
  malformed: "is not a stamp (expected 1:<bits>:<YYMMDDhhmm>:<resource>::<rand>:<counter>)",
  "wrong resource": "was made for something else",
  "too little work": "has too little work in it",
  expired: "is more than an hour old",
  "dated in the future": "is dated in the future",
} as const;

/** Spent stamps older than any good stamp are forgotten, at most once a minute per process. */
let sweptAt = 0;

/**
 * Stores what a stamp pays for (`write` makes the query: the new worker or request) and marks the stamp spent,
 * in one transaction: one commit, and neither happens without the other.
 * @throws BoardError ERR_STAMP naming what is wrong, and the work asked for; a stamp already
 * spent (here or by another board process) included.
 */
export async function payWithStamp<T>(
  db: BoardDb,
  settings: BoardSettings,
  action: "register" | "post",
  stamp: string | undefined,
  write: () => BoardPrisma.PrismaPromise<T>,
  now = new Date(),
): Promise<T> {
  const bits = action === "register" ? settings.registerBits : settings.postBits;
  const resource = stampResource(settings, action);
  const want = `a stamp of ${bits} bits for ${resource}`;
  if (!stamp) throw new BoardError("ERR_STAMP", `missing stamp: this needs ${want}`, "stamp");
  const problem = checkStamp(stamp, { resource, bits, maxAgeMs: STAMP_MAX_AGE_MS, now });
  if (problem) {
    throw new BoardError(
      "ERR_STAMP",
      `the stamp ${PROBLEMS[problem]}: this needs ${want}`,
      "stamp",
    );
  }
  const hash = stampDigest(stamp).toString("hex");
  let result: T;
  try {
    [, result] = await withBusyRetry(() =>
      db.$transaction([
        db.spentStamp.create({ data: { hash, spentAt: now }, select: { hash: true } }),
        write(),
      ]),
    );
  } catch (error) {
    const spent =
      (error as { code?: string }).code === "P2002" &&
      (await db.spentStamp.findUnique({ where: { hash }, select: { hash: true } })) !== null;
    if (!spent) throw error;
    throw new BoardError(
      "ERR_STAMP",
      `this stamp was used already: make a new one (${want})`,
      "stamp",
    );
  }
  if (now.getTime() - sweptAt > 60_000) {
    sweptAt = now.getTime();
    await db.spentStamp.deleteMany({
      where: { spentAt: { lt: new Date(now.getTime() - 2 * STAMP_MAX_AGE_MS) } },
    });
  }
  return result;
}

// Heartbeats' lastSeen, kept in memory and written for all workers at once every FLUSH_MS, instead of one fsync'd write per heartbeat.
import type { BoardDb } from "@tormr/db/board";

/**
 * How long a heartbeat waits to be written. lastSeen is soft state: it only decides whether a
 * worker still counts as present (workerStaleMs, 5 minutes, about four heartbeats), so a crash
 * that loses the last second of it loses nothing the next heartbeat does not put back.
 */
export const FLUSH_MS = 1_000;

/** `IN (...)` lists of at most this many pseudonyms (SQLite's variable limit is far above). */
const CHUNK = 500;

interface Batch {
  /** Pseudonym → when its earliest unwritten heartbeat came. */
  seen: Map<string, number>;
  timer: NodeJS.Timeout | undefined;
}

// On globalThis, like the database client itself: the board's server and Next's bundle each load
// this module, and their heartbeats to the one client should share one batch.
const holder = globalThis as unknown as { tormrLastSeen?: Map<BoardDb, Batch> };
holder.tormrLastSeen ??= new Map();
const batches = holder.tormrLastSeen;

/** Notes a heartbeat from `pseudonym` at `at`; written within FLUSH_MS. */
export function noteSeen(db: BoardDb, pseudonym: string, at: Date): void {
  let batch = batches.get(db);
  if (!batch) {
    batch = { seen: new Map(), timer: undefined };
    batches.set(db, batch);
  }
  if (!batch.seen.has(pseudonym)) batch.seen.set(pseudonym, at.getTime());
  batch.timer ??= setTimeout(() => {
    flushSeen(db).catch((error: unknown) =>
      console.error(`board: could not write heartbeats: ${(error as Error).message}`),
    );
  }, FLUSH_MS).unref();
}

/**
 * Writes what is noted, in one transaction (one fsync). Every worker in the batch gets the time of
 * the batch's earliest heartbeat: at most FLUSH_MS early, never late, and one statement per
 * CHUNK workers rather than one each. A lastSeen already later (a poll, a registration) is kept.
 */
export async function flushSeen(db: BoardDb): Promise<void> {
  const batch = batches.get(db);
  if (!batch) return;
  clearTimeout(batch.timer);
  batches.delete(db);
  if (batch.seen.size === 0) return;
  let earliest = Number.POSITIVE_INFINITY;
  for (const time of batch.seen.values()) earliest = Math.min(earliest, time);
  const at = new Date(earliest);
  const pseudonyms = [...batch.seen.keys()];
  const chunks: string[][] = [];
  for (let i = 0; i < pseudonyms.length; i += CHUNK) chunks.push(pseudonyms.slice(i, i + CHUNK));
  await db.$transaction(
    chunks.map((chunk) =>
      db.worker.updateMany({
        where: { pseudonym: { in: chunk }, lastSeen: { lt: at } },
        data: { lastSeen: at },
      }),
    ),
  );
}

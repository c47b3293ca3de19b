// The home page's numbers: coarse and late on purpose, so that nobody can time a volunteer's coming or going by them.
import type { BoardDb } from "@tormr/db/board";

export interface BoardStats {
  /** Rounded down to a multiple of 5; "fewer than 5" below that. */
  workersAvailable: string;
  openRequests: string;
  clustersFormed: string;
  /** When the numbers were counted (to the minute). */
  countedAt: Date;
}

/** Recounted at most this often. */
export const STATS_PERIOD_MS = 5 * 60_000;

function coarse(n: number): string {
  return n < 5 ? "fewer than 5" : `${Math.floor(n / 5) * 5}+`;
}

let cached: { at: number; stats: BoardStats } | undefined;

export async function boardStats(db: BoardDb, now = Date.now()): Promise<BoardStats> {
  if (cached && now - cached.at < STATS_PERIOD_MS) return cached.stats;
  const [workers, open, formed] = await Promise.all([
    db.worker.count({ where: { state: "available" } }),
    db.request.count({ where: { state: "waiting" } }),
    db.request.count({ where: { state: "formed" } }),
  ]);
  const stats = {
    workersAvailable: coarse(workers),
    openRequests: coarse(open),
    clustersFormed: coarse(formed),
    countedAt: new Date(Math.floor(now / 60_000) * 60_000),
  };
  cached = { at: now, stats };
  return stats;
}

// The board's database (prisma/board): opened migrated, and tuned like the job host's.
import type { MigratedDatabase } from "./_migrations.ts";
import { openMigrated } from "./_sqlite.ts";
import { Prisma, PrismaClient } from "./generated/board/client.ts";

/** For `satisfies Prisma.RequestSelect` and `instanceof Prisma.PrismaClientKnownRequestError`. */
export { Prisma as BoardPrisma };

/** A client of one board database. Close it with `await db.$disconnect()`. */
export type BoardDb = PrismaClient;

const BOARD: MigratedDatabase = { name: "board", urlVariable: "BOARD_DATABASE_URL" };

/**
 * Opens the board database at `path` (absolute), creating it and its folder if need be, migrated
 * with prisma/board/migrations (`prisma migrate deploy`, or a copy of its template for a new file).
 * Connections use WAL, synchronous=FULL and a busy timeout, so several board processes can share
 * one file. Open one client per file per process.
 * @throws DbError `ERR_DB_PATH`, `ERR_DB_CORRUPT` or `ERR_DB_MIGRATE`, its message naming the path.
 */
export async function openBoardDb(path: string): Promise<BoardDb> {
  return openMigrated(BOARD, path, (adapter) => new PrismaClient({ adapter }));
}

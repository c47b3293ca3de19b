// Several board processes share one SQLite file: a transaction that finds the write lock taken is run again, a few times, with jitter.

/** The pass found its data changed under it (another board process was first): run it again. */
export class Raced extends Error {}

const RETRIES = 5;

/** The better-sqlite3 adapter reports SQLITE_BUSY as P1008 ("SocketTimeout", "database is locked"). */
function busy(error: unknown): boolean {
  const text = `${(error as { code?: string }).code ?? ""} ${(error as Error).message ?? ""}`;
  return error instanceof Raced || /P1008|P2034|SQLITE_BUSY|database is locked/.test(text);
}

/**
 * Runs `transaction`, again after a random pause (20 ms doubling) while it loses a race or the
 * lock; `alsoRetry` names other errors that mean "lost a race" (a unique key another took first).
 */
export async function withBusyRetry<T>(
  transaction: () => Promise<T>,
  alsoRetry: (error: unknown) => boolean = () => false,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= RETRIES || !(busy(error) || alsoRetry(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt * Math.random()));
    }
  }
}

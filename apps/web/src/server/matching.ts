// The board's matching loop: formClusters every period, one pass at a time, errors logged (without any client detail) and retried.
import { formClusters } from "./board/form-clusters.ts";
import { boardContext } from "./context.ts";

const holder = globalThis as unknown as { tormrMatching?: NodeJS.Timeout };

/** Every `periodMs` (TORMR_BOARD_MATCH_MS, default 2 s); several board processes may run it at once. */
export function startMatching(periodMs = Number(process.env.TORMR_BOARD_MATCH_MS ?? 2_000)): void {
  if (holder.tormrMatching) return;
  let running = false;
  holder.tormrMatching = setInterval(() => {
    if (running) return;
    running = true;
    void boardContext()
      .then(({ db, settings }) => formClusters(db, settings))
      .catch((error: unknown) =>
        console.error(`board: matching failed: ${(error as Error).message}`),
      )
      .finally(() => {
        running = false;
      });
  }, periodMs);
  holder.tormrMatching.unref();
}

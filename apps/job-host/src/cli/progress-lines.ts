// Progress as plain lines for logs and pipes: one line per count change and per retry.
import type { JobProgress } from "../local/types.ts";
import { oneLine } from "./one-line.ts";

export interface ProgressReporter {
  update(progress: JobProgress): void;
  /** Ends the display; safe to call more than once. */
  stop(): void;
}

export function formatProgressLine(progress: JobProgress): string {
  const { maps, reduces } = progress;
  return `map ${maps.done}/${maps.total} reduce ${reduces.done}/${reduces.total}`;
}

export function formatRetryLine(retry: NonNullable<JobProgress["retry"]>): string {
  return `retry: ${retry.task} attempt ${retry.attempt}: ${oneLine(retry.message)}`;
}

/** Remembers which retries were shown, since a runner may repeat the last one in later updates. */
export function retryTracker(): (progress: JobProgress) => string | undefined {
  const seen = new Set<string>();
  return (progress) => {
    const retry = progress.retry;
    if (retry === undefined) return undefined;
    const key = `${retry.task}\u0000${retry.attempt}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    return formatRetryLine(retry);
  };
}

export function plainProgress(writeLine: (line: string) => void): ProgressReporter {
  const newRetry = retryTracker();
  let last = "";
  let stopped = false;
  return {
    update(progress) {
      if (stopped) return;
      const retry = newRetry(progress);
      if (retry !== undefined) writeLine(retry);
      const line = formatProgressLine(progress);
      if (line !== last) {
        last = line;
        writeLine(line);
      }
    },
    stop() {
      stopped = true;
    },
  };
}

// Rate limits per token: a token bucket in memory, refused with a clear 429 that says when to try again.
import { BoardError } from "../board/errors.ts";

export interface RateLimiter {
  /** Takes one unit for `key`. @throws BoardError ERR_RATE_LIMITED. */
  take(key: string): void;
}

/** `burst` calls at once per key, refilled at `perSecond`; keys idle for a minute are forgotten. */
export function rateLimiter(options: {
  burst: number;
  perSecond: number;
  now?: () => number;
}): RateLimiter {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key) {
      const time = now();
      if (buckets.size > 100_000) {
        for (const [k, b] of buckets) if (time - b.at > 60_000) buckets.delete(k);
      }
      const bucket = buckets.get(key) ?? { tokens: options.burst, at: time };
      bucket.tokens = Math.min(
        options.burst,
        bucket.tokens + ((time - bucket.at) / 1000) * options.perSecond,
      );
      bucket.at = time;
      if (bucket.tokens < 1) {
        buckets.set(key, bucket);
        const wait = Math.ceil((1 - bucket.tokens) / options.perSecond);
        throw new BoardError("ERR_RATE_LIMITED", `too many calls: try again in ${wait} s`);
      }
      bucket.tokens -= 1;
      buckets.set(key, bucket);
    },
  };
}

// `source` through a transform, as one stream: unlike `pipe`, an error on either side ends it.
import type { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * Returns `transform`, fed from `source`; a failing source destroys it with the source's error.
 * A reader that gave up on the stream (its task already failed) no longer listens for errors, and
 * an `error` event nobody hears would end the whole worker: so one listener always stays, while
 * readers that still read get the error as usual.
 */
export function through<T extends Transform>(source: Readable, transform: T): T {
  transform.on("error", () => {});
  pipeline(source, transform).catch((error: unknown) => {
    if (!transform.destroyed)
      transform.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  return transform;
}

// `source` through a transform, as one stream: unlike `pipe`, an error on either side ends it.
import type { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Returns `transform`, fed from `source`; a failing source destroys it with the source's error. */
export function through<T extends Transform>(source: Readable, transform: T): T {
  pipeline(source, transform).catch((error: unknown) =>
    transform.destroy(error instanceof Error ? error : new Error(String(error))),
  );
  return transform;
}

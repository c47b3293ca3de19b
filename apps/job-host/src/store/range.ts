// HTTP Range requests (RFC 9110 §14.2): one byte range per request, enough to resume a download.
import { StoreError } from "./store-error.ts";

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

const SINGLE_RANGE = /^bytes=(\d*)-(\d*)$/;

/**
 * The range a `Range` header asks for within `size` bytes, or undefined for the whole body.
 * `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes) are understood; an end past the body is
 * clamped, as the RFC says.
 * @throws StoreError `ERR_BAD_RANGE` (416) for a range that starts past the end, or several ranges.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = SINGLE_RANGE.exec(header.trim());
  const unsatisfiable = (why: string) =>
    new StoreError("ERR_BAD_RANGE", `cannot serve Range ${header.slice(0, 60)}: ${why}`);
  if (!match) throw unsatisfiable("expected one range, bytes=<start>-<end>");
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") throw unsatisfiable("the range is empty");
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(`the bucket has ${size} bytes`);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size) throw unsatisfiable(`it starts at ${start}, the bucket has ${size} bytes`);
  if (end < start) throw unsatisfiable("it ends before it starts");
  return { start, end };
}

// Streams a segment's whole lines as bytes, ending with a newline even where the file does not.
import { createReadStream } from "node:fs";
import { type Segment, segmentRange } from "./splits.ts";

const NEWLINE = Buffer.from("\n");

export async function* readSegment(segment: Segment): AsyncGenerator<Buffer> {
  const { start, end } = await segmentRange(segment);
  if (end <= start) return;
  let last = 10;
  const stream = createReadStream(segment.path, { start, end: end - 1, highWaterMark: 256 * 1024 });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
    yield chunk;
  }
  if (last !== 10) yield NEWLINE;
}

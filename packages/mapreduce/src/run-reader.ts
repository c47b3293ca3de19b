// Reads a byte range of a sorted run file as batches of byte-string lines, with constant memory.
import { open } from "node:fs/promises";
import { LineSplitter } from "./byte-string.ts";

export interface RunSegment {
  path: string;
  offset: number;
  length: number;
}

const READ_SIZE = 256 * 1024;

/** Yields the lines of `segment` in batches; the segment must end with a newline. */
export async function* readRunLines(segment: RunSegment): AsyncGenerator<string[]> {
  if (segment.length === 0) return;
  const handle = await open(segment.path, "r");
  try {
    const splitter = new LineSplitter();
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    let position = segment.offset;
    const end = segment.offset + segment.length;
    while (position < end) {
      const { bytesRead } = await handle.read(
        buffer,
        0,
        Math.min(READ_SIZE, end - position),
        position,
      );
      if (bytesRead === 0) break;
      position += bytesRead;
      const lines = splitter.push(buffer.subarray(0, bytesRead));
      if (lines.length > 0) yield lines;
    }
    const rest = splitter.end();
    if (rest.length > 0) yield rest;
  } finally {
    await handle.close();
  }
}

// Input splits: files and folders cut into byte ranges that never cut a line (Hadoop's LineRecordReader rule).
import { open, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { MapReduceError } from "./errors.ts";

export interface Segment {
  path: string;
  /** Nominal byte range; the reader moves both ends to line starts. */
  start: number;
  end: number;
}

export interface Split {
  index: number;
  segments: Segment[];
  bytes: number;
}

// Hadoop's SPLIT_SLOP: the last piece of a file may run 10% over the split size.
const SPLIT_SLOP = 1.1;

/** Hidden and underscore files (`_SUCCESS`, `.crc`) are not input, as in Hadoop. */
function isInputName(name: string): boolean {
  return !name.startsWith(".") && !name.startsWith("_");
}

async function listFiles(path: string): Promise<{ path: string; size: number }[]> {
  const info = await stat(path).catch(() => null);
  if (info === null) {
    throw new MapReduceError("ERR_INPUT_MISSING", `input path does not exist: ${path}`);
  }
  if (info.isFile()) return [{ path, size: info.size }];
  if (!info.isDirectory()) {
    throw new MapReduceError("ERR_INPUT_MISSING", `input is not a file or folder: ${path}`);
  }
  const names = (await readdir(path)).filter(isInputName).sort();
  const nested = await Promise.all(names.map((name) => listFiles(join(path, name))));
  return nested.flat();
}

/** Lists every input file (folders recursively, in name order), failing on a missing one. */
export async function listInputFiles(inputs: readonly string[]) {
  const files = (await Promise.all(inputs.map(listFiles))).flat();
  if (files.length === 0) {
    throw new MapReduceError("ERR_INPUT_EMPTY", `no input files under ${inputs.join(", ")}`);
  }
  return files;
}

/**
 * Plans splits of about `splitSize` bytes: large files are cut into pieces, and small files are
 * packed together (as CombineFileInputFormat does) so that a folder of many small files does
 * not become thousands of tasks.
 */
export async function planSplits(inputs: readonly string[], splitSize: number): Promise<Split[]> {
  const splits: Split[] = [];
  let current: Segment[] = [];
  let currentBytes = 0;
  const close = () => {
    if (current.length > 0)
      splits.push({ index: splits.length, segments: current, bytes: currentBytes });
    current = [];
    currentBytes = 0;
  };
  for (const file of await listInputFiles(inputs)) {
    if (file.size === 0) continue;
    if (file.size >= splitSize) {
      close();
      let start = 0;
      while (file.size - start > splitSize * SPLIT_SLOP) {
        splits.push({
          index: splits.length,
          segments: [{ path: file.path, start, end: start + splitSize }],
          bytes: splitSize,
        });
        start += splitSize;
      }
      splits.push({
        index: splits.length,
        segments: [{ path: file.path, start, end: file.size }],
        bytes: file.size - start,
      });
      continue;
    }
    if (currentBytes + file.size > splitSize) close();
    current.push({ path: file.path, start: 0, end: file.size });
    currentBytes += file.size;
  }
  close();
  return splits;
}

const SCAN = 64 * 1024;

/** The first line start after `at`: a line that starts exactly at a boundary belongs to the split before it. */
async function lineStartAfter(path: string, at: number, size: number): Promise<number> {
  if (at <= 0) return 0;
  if (at >= size) return size;
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(SCAN);
    for (let position = at; position < size; position += SCAN) {
      const { bytesRead } = await handle.read(buffer, 0, SCAN, position);
      const nl = buffer.subarray(0, bytesRead).indexOf(10);
      if (nl >= 0) return position + nl + 1;
      if (bytesRead === 0) break;
    }
    return size;
  } finally {
    await handle.close();
  }
}

/** The exact byte range of a segment's whole lines. */
export async function segmentRange(segment: Segment): Promise<{ start: number; end: number }> {
  const { size } = await stat(segment.path);
  const start = await lineStartAfter(segment.path, segment.start, size);
  const end = segment.end >= size ? size : await lineStartAfter(segment.path, segment.end, size);
  return { start, end: Math.max(start, end) };
}

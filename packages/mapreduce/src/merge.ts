// k-way merge of sorted runs into one stream in (key, line) byte order, in batches.
import { type KeySpec, keyLength } from "./key-spec.ts";
import { type RunSegment, readRunLines } from "./run-reader.ts";

export interface MergedBatch {
  lines: string[];
  /** `keys[i]` is the key of `lines[i]`. */
  keys: string[];
}

const BATCH = 4096;

class Cursor {
  private batch: string[] = [];
  private i = 0;
  line = "";
  key = "";

  constructor(
    private readonly source: AsyncGenerator<string[]>,
    private readonly spec: KeySpec,
  ) {}

  /** Moves to the next line of the current batch; false when the batch is used up. */
  step(): boolean {
    if (this.i >= this.batch.length) return false;
    const line = this.batch[this.i++] as string;
    // Runs hold long stretches of equal lines (a word count's "the\t1"); those keep their key.
    if (line !== this.line) {
      this.line = line;
      this.key = line.slice(0, keyLength(line, this.spec));
    }
    return true;
  }

  /** Moves to the next line, reading on; false at the end of the run. */
  async advance(): Promise<boolean> {
    while (!this.step()) {
      const next = await this.source.next();
      if (next.done) return false;
      this.batch = next.value;
      this.i = 0;
    }
    return true;
  }
}

function keysOf(lines: readonly string[], spec: KeySpec): string[] {
  let previous = "";
  let key = "";
  return lines.map((line) => {
    if (line !== previous) {
      previous = line;
      key = line.slice(0, keyLength(line, spec));
    }
    return key;
  });
}

function less(a: Cursor, b: Cursor): boolean {
  return a.key < b.key || (a.key === b.key && a.line < b.line);
}

function siftDown(heap: Cursor[], at: number): void {
  const n = heap.length;
  const item = heap[at] as Cursor;
  let i = at;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const child = r < n && less(heap[r] as Cursor, heap[l] as Cursor) ? r : l;
    if (!less(heap[child] as Cursor, item)) break;
    heap[i] = heap[child] as Cursor;
    i = child;
  }
  heap[i] = item;
}

/** Merges runs, each sorted by (key, line), into one sorted stream of batches. */
export async function* mergeRuns(
  segments: readonly RunSegment[],
  spec: KeySpec,
): AsyncGenerator<MergedBatch> {
  if (segments.length === 1) {
    for await (const lines of readRunLines(segments[0] as RunSegment)) {
      yield { lines, keys: keysOf(lines, spec) };
    }
    return;
  }
  const heap: Cursor[] = [];
  for (const segment of segments) {
    const cursor = new Cursor(readRunLines(segment), spec);
    if (await cursor.advance()) heap.push(cursor);
  }
  for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
  let lines: string[] = [];
  let keys: string[] = [];
  while (heap.length > 0) {
    const top = heap[0] as Cursor;
    const line = top.line;
    lines.push(line);
    keys.push(top.key);
    // A line equal to the one just taken is still the smallest: no need to reorder the heap.
    while (top.step()) {
      if (top.line !== line) break;
      lines.push(line);
      keys.push(top.key);
    }
    if (top.line === line && !(await top.advance())) {
      const last = heap.pop() as Cursor;
      if (heap.length === 0) break;
      heap[0] = last;
    }
    siftDown(heap, 0);
    if (lines.length >= BATCH) {
      yield { lines, keys };
      lines = [];
      keys = [];
    }
  }
  if (lines.length > 0) yield { lines, keys };
}

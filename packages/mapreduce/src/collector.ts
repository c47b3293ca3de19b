// The map-side sort buffer: groups output by key, spills sorted runs when over budget, merges them per partition.
import { join } from "node:path";
import { C, type Counters, FS_GROUP } from "./counters.ts";
import { type KeySpec, keyLength } from "./key-spec.ts";
import { mergeRuns } from "./merge.ts";
import { partitionByteKey } from "./partitioner.ts";
import type { RunSegment } from "./run-reader.ts";
import { RunWriter } from "./run-writer.ts";

/** Rewrites one spill's records, given in (partition, key, line) order: a combiner. */
export type SpillCombiner = (sorted: Iterable<Block>) => Promise<string[]>;

export interface CollectorOptions {
  partitions: number;
  keySpec: KeySpec;
  budgetBytes: number;
  scratchDir: string;
  counters: Counters;
  combiner?: SpillCombiner;
}

export interface PartitionFile {
  partition: number;
  path: string;
  records: number;
  bytes: number;
}

interface Group {
  partition: number;
  /** The value part of each record; `null` for a line that is all key (it had no separator). */
  values: (string | null)[];
}

// What V8 spends, roughly, so the budget is honest: an 8-byte array slot per record, plus a string
// header and padded contents for values longer than one character (V8 shares one-character strings).
const SLOT = 8;
const STRING_HEADER = 16;
const GROUP_OVERHEAD = 120;

function valueCost(value: string | null): number {
  return value === null || value.length <= 1
    ? SLOT
    : SLOT + STRING_HEADER + ((value.length + 7) & ~7);
}

export class MapOutputCollector {
  private groups = new Map<string, Group>();
  private buffered = 0;
  private readonly spills: RunSegment[][] = [];
  /** The plain TAB-and-one-field case, scanned without cutting each line out first. */
  private readonly simpleTab: boolean;

  constructor(private readonly options: CollectorOptions) {
    this.simpleTab = options.keySpec.separator === "\t" && options.keySpec.fields === 1;
  }

  /** Adds one record (a byte-string line); sorting is by key, then by the whole line. */
  add(line: string): void {
    const spec = this.options.keySpec;
    const k = keyLength(line, spec);
    this.addRecord(
      line.slice(0, k),
      k >= line.length ? null : line.slice(k + spec.separator.length),
    );
  }

  /** Adds one record as its key and value part (`null`: the line was all key). */
  addRecord(key: string, value: string | null): void {
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { partition: partitionByteKey(key, this.options.partitions), values: [] };
      this.groups.set(key, group);
      this.buffered += key.length + GROUP_OVERHEAD;
    }
    group.values.push(value);
    this.buffered += valueCost(value);
  }

  /**
   * Adds every complete line of `text` and returns the unfinished rest. Keys and values are cut
   * straight from `text`, so no per-line string outlives this call unless it is kept.
   */
  addText(text: string): { records: number; rest: string } {
    let records = 0;
    let pos = 0;
    if (!this.simpleTab) {
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", pos)) {
        this.add(text.slice(pos, nl));
        records++;
        pos = nl + 1;
      }
      return { records, rest: text.slice(pos) };
    }
    let tab = text.indexOf("\t");
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", pos)) {
      // `tab` may lie beyond this line; it is kept until the scan passes it, so no line is rescanned.
      if (tab >= 0 && tab < pos) tab = text.indexOf("\t", pos);
      if (tab >= 0 && tab < nl) this.addRecord(text.slice(pos, tab), text.slice(tab + 1, nl));
      else this.addRecord(text.slice(pos, nl), null);
      records++;
      pos = nl + 1;
    }
    return { records, rest: text.slice(pos) };
  }

  get overBudget(): boolean {
    return this.buffered >= this.options.budgetBytes;
  }

  /** Spills when over budget; call after each batch of `add`s. */
  async maybeSpill(): Promise<void> {
    if (this.overBudget) await this.spill();
  }

  async spill(): Promise<void> {
    if (this.groups.size === 0) return;
    const index = this.spills.length;
    const writer = await RunWriter.create(join(this.options.scratchDir, `spill-${index}.run`));
    const segments = await this.writeSorted(() => {
      const offset = writer.offset;
      return {
        writer,
        done: async () => ({ path: writer.path, offset, length: writer.offset - offset }),
      };
    });
    await writer.close();
    this.spills.push(segments);
    this.options.counters.task(C.spilledRuns);
    this.options.counters.task(C.spilledRecords, writer.records);
    this.options.counters.increment(FS_GROUP, C.bytesWritten, writer.bytes);
  }

  /** Writes one sorted file per partition, at `pathOf(partition)`. */
  async finish(pathOf: (partition: number) => string): Promise<PartitionFile[]> {
    let files: PartitionFile[];
    if (this.spills.length === 0) {
      files = await this.writeSorted(async (p) => {
        const writer = await RunWriter.create(pathOf(p));
        return {
          writer,
          done: async () => {
            await writer.close();
            return {
              partition: p,
              path: writer.path,
              records: writer.records,
              bytes: writer.bytes,
            };
          },
        };
      });
    } else {
      await this.spill();
      files = [];
      for (let p = 0; p < this.options.partitions; p++) {
        const writer = await RunWriter.create(pathOf(p));
        const runs = this.spills.map((s) => s[p] as RunSegment);
        for await (const { lines } of mergeRuns(runs, this.options.keySpec)) {
          await writer.writeAll(lines);
        }
        await writer.close();
        files.push({
          partition: p,
          path: writer.path,
          records: writer.records,
          bytes: writer.bytes,
        });
      }
    }
    for (const f of files) this.options.counters.increment(FS_GROUP, C.bytesWritten, f.bytes);
    return files;
  }

  /**
   * Empties the buffer, partition by partition in (key, line) order, into the writers `open`
   * gives (combined first, if the job has a combiner). Lines are made a batch at a time, so a
   * spill never holds a second copy of the buffer.
   */
  private async writeSorted<T>(
    open: (partition: number) =>
      | Promise<{ writer: RunWriter; done: () => Promise<T> }>
      | {
          writer: RunWriter;
          done: () => Promise<T>;
        },
  ): Promise<T[]> {
    let groups = this.groups;
    this.groups = new Map();
    this.buffered = 0;
    const { combiner, counters, partitions, keySpec } = this.options;
    if (combiner) {
      let input = 0;
      const output = await combiner(
        (function* () {
          for (let p = 0; p < partitions; p++) {
            for (const block of sortedBlocks(groups, p, keySpec.separator)) {
              input += block.records;
              yield block;
            }
          }
        })(),
      );
      counters.task(C.combineInputRecords, input);
      counters.task(C.combineOutputRecords, output.length);
      for (const line of output) this.add(line);
      groups = this.groups;
      this.groups = new Map();
      this.buffered = 0;
    }
    const results: T[] = [];
    for (let p = 0; p < partitions; p++) {
      const { writer, done } = await open(p);
      for (const block of sortedBlocks(groups, p, keySpec.separator)) {
        writer.addBlock(block.text, block.records);
        if (writer.full) await writer.flush();
      }
      results.push(await done());
    }
    return results;
  }
}

const BLOCK_CHARS = 1024 * 1024;

/** Newline-terminated text holding `records` whole records. */
export interface Block {
  text: string;
  records: number;
}

/** One partition's records as text in (key, line) byte order, about a megabyte at a time. */
function* sortedBlocks(
  groups: Map<string, Group>,
  partition: number,
  separator: string,
): Generator<Block> {
  const keys: string[] = [];
  for (const [key, group] of groups) if (group.partition === partition) keys.push(key);
  // Byte strings compare in byte order, as `LC_ALL=C sort` does.
  keys.sort();
  let pieces: string[] = [];
  let chars = 0;
  let records = 0;
  for (const key of keys) {
    const values = (groups.get(key) as Group).values;
    // Same key, so line order is value order; a line that is all key sorts first.
    if (values.length > 1) values.sort(byValue);
    const prefix = key + separator;
    for (let i = 0; i < values.length; ) {
      const value = values[i] as string | null;
      let j = i + 1;
      while (j < values.length && values[j] === value) j++;
      // Equal records (a word count's "the\t1") are written as one repeated string.
      const line = `${value === null ? key : prefix + value}\n`;
      const piece = j - i === 1 ? line : line.repeat(j - i);
      pieces.push(piece);
      chars += piece.length;
      records += j - i;
      i = j;
      if (chars >= BLOCK_CHARS) {
        yield { text: pieces.join(""), records };
        pieces = [];
        chars = 0;
        records = 0;
      }
    }
  }
  if (records > 0) yield { text: pieces.join(""), records };
}

function byValue(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

// The map-side sort buffer: groups output by key, spills sorted runs when over budget, merges them per partition.
import { join } from "node:path";
import { C, type Counters, FS_GROUP } from "./counters.ts";
import { type KeySpec, keyLength } from "./key-spec.ts";
import { mergeRuns } from "./merge.ts";
import { partitionByteKey } from "./partitioner.ts";
import type { RunSegment } from "./run-reader.ts";
import { RunWriter } from "./run-writer.ts";

/** Rewrites one spill's records, in (partition, key, line) order, e.g. through a combiner. */
export type SpillCombiner = (sortedLines: string[]) => Promise<string[]>;

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

// V8's cost of a value string and the array slot that holds it, roughly; keeps the budget honest.
const VALUE_OVERHEAD = 24;
const GROUP_OVERHEAD = 120;

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
    this.buffered += value === null ? 8 : value.length + VALUE_OVERHEAD;
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
    const segments: RunSegment[] = [];
    for (const lines of await this.takeSortedPartitions()) {
      const offset = writer.offset;
      await writer.writeAll(lines);
      segments.push({ path: writer.path, offset, length: writer.offset - offset });
    }
    await writer.close();
    this.spills.push(segments);
    this.options.counters.task(C.spilledRuns);
    this.options.counters.task(C.spilledRecords, writer.records);
    this.options.counters.increment(FS_GROUP, C.bytesWritten, writer.bytes);
  }

  /** Writes one sorted file per partition, at `pathOf(partition)`. */
  async finish(pathOf: (partition: number) => string): Promise<PartitionFile[]> {
    const files: PartitionFile[] = [];
    if (this.spills.length === 0) {
      const partitions = await this.takeSortedPartitions();
      for (let p = 0; p < partitions.length; p++) {
        const writer = await RunWriter.create(pathOf(p));
        await writer.writeAll(partitions[p] ?? []);
        await writer.close();
        files.push({
          partition: p,
          path: writer.path,
          records: writer.records,
          bytes: writer.bytes,
        });
      }
    } else {
      await this.spill();
      for (let p = 0; p < this.options.partitions; p++) {
        const writer = await RunWriter.create(pathOf(p));
        for await (const { lines } of mergeRuns(
          this.spills.map((s) => s[p] as RunSegment),
          this.options.keySpec,
        )) {
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

  /** Empties the buffer into one (key, line)-sorted line array per partition, combined if asked. */
  private async takeSortedPartitions(): Promise<string[][]> {
    let sorted = sortGroups(this.groups, this.options.partitions, this.options.keySpec.separator);
    this.groups = new Map();
    this.buffered = 0;
    const combiner = this.options.combiner;
    if (combiner) {
      const input = sorted.flat();
      this.options.counters.task(C.combineInputRecords, input.length);
      const output = await combiner(input);
      this.options.counters.task(C.combineOutputRecords, output.length);
      for (const line of output) this.add(line);
      sorted = sortGroups(this.groups, this.options.partitions, this.options.keySpec.separator);
      this.groups = new Map();
      this.buffered = 0;
    }
    return sorted;
  }
}

function sortGroups(groups: Map<string, Group>, partitions: number, separator: string): string[][] {
  const keysByPartition: string[][] = Array.from({ length: partitions }, () => []);
  for (const [key, group] of groups) keysByPartition[group.partition]?.push(key);
  return keysByPartition.map((keys) => {
    // Byte strings compare in byte order, as `LC_ALL=C sort` does.
    keys.sort();
    const out: string[] = [];
    for (const key of keys) {
      const values = (groups.get(key) as Group).values;
      // Same key, so line order is value order; a line that is all key sorts first.
      if (values.length > 1) values.sort(byValue);
      const prefix = key + separator;
      for (const value of values) out.push(value === null ? key : prefix + value);
    }
    return out;
  });
}

function byValue(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

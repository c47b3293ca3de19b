// Job counters, grouped as Hadoop groups them, mergeable across tasks and processes.
export type CounterRecord = Record<string, Record<string, number>>;

/** The built-in group, named as Hadoop names it in its job counters. */
export const TASK_GROUP = "org.apache.hadoop.mapreduce.TaskCounter";
export const FS_GROUP = "org.apache.hadoop.mapreduce.FileSystemCounter";

export const C = {
  mapInputRecords: "MAP_INPUT_RECORDS",
  mapOutputRecords: "MAP_OUTPUT_RECORDS",
  mapOutputBytes: "MAP_OUTPUT_BYTES",
  combineInputRecords: "COMBINE_INPUT_RECORDS",
  combineOutputRecords: "COMBINE_OUTPUT_RECORDS",
  reduceInputGroups: "REDUCE_INPUT_GROUPS",
  reduceInputRecords: "REDUCE_INPUT_RECORDS",
  reduceOutputRecords: "REDUCE_OUTPUT_RECORDS",
  spilledRuns: "SPILLED_RUNS",
  spilledRecords: "SPILLED_RECORDS",
  bytesRead: "FILE_BYTES_READ",
  bytesWritten: "FILE_BYTES_WRITTEN",
} as const;

export class Counters {
  private readonly groups = new Map<string, Map<string, number>>();

  increment(group: string, name: string, amount = 1): void {
    let g = this.groups.get(group);
    if (!g) {
      g = new Map();
      this.groups.set(group, g);
    }
    g.set(name, (g.get(name) ?? 0) + amount);
  }

  task(name: string, amount = 1): void {
    this.increment(TASK_GROUP, name, amount);
  }

  get(group: string, name: string): number {
    return this.groups.get(group)?.get(name) ?? 0;
  }

  merge(other: CounterRecord): void {
    for (const [group, names] of Object.entries(other)) {
      for (const [name, value] of Object.entries(names)) this.increment(group, name, value);
    }
  }

  toJSON(): CounterRecord {
    const out: CounterRecord = {};
    for (const [group, names] of [...this.groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out[group] = Object.fromEntries([...names].sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    return out;
  }
}

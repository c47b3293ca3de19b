// Formats job counters as Hadoop's "Counters: N" listing: groups in Hadoop's order, values aligned.
import { C, type CounterRecord, FS_GROUP, TASK_GROUP } from "@tormr/mapreduce/counters";

const JOB_GROUP = "org.apache.hadoop.mapreduce.JobCounter";
const INPUT_GROUP = "org.apache.hadoop.mapreduce.lib.input.FileInputFormatCounter";
const OUTPUT_GROUP = "org.apache.hadoop.mapreduce.lib.output.FileOutputFormatCounter";

/** Hadoop's display names, in the order Hadoop lists them; unlisted groups and counters follow. */
const KNOWN: ReadonlyArray<[group: string, display: string, counters: Record<string, string>]> = [
  [
    FS_GROUP,
    "File System Counters",
    {
      [C.bytesRead]: "FILE: Number of bytes read",
      [C.bytesWritten]: "FILE: Number of bytes written",
    },
  ],
  [JOB_GROUP, "Job Counters", {}],
  [
    TASK_GROUP,
    "Map-Reduce Framework",
    {
      [C.mapInputRecords]: "Map input records",
      [C.mapOutputRecords]: "Map output records",
      [C.mapOutputBytes]: "Map output bytes",
      [C.combineInputRecords]: "Combine input records",
      [C.combineOutputRecords]: "Combine output records",
      [C.reduceInputGroups]: "Reduce input groups",
      [C.reduceInputRecords]: "Reduce input records",
      [C.reduceOutputRecords]: "Reduce output records",
      [C.spilledRecords]: "Spilled Records",
      [C.spilledRuns]: "Spilled runs",
    },
  ],
  [INPUT_GROUP, "File Input Format Counters", {}],
  [OUTPUT_GROUP, "File Output Format Counters", {}],
];

interface Row {
  name: string;
  value: string;
}

function groupRows(values: Record<string, number>, names: Record<string, string>): Row[] {
  // Own keys only: user counters may be named like Object methods ("toString").
  const display = new Map(Object.entries(names));
  const known = [...display.keys()].filter((key) => Object.hasOwn(values, key));
  const other = Object.keys(values)
    .filter((key) => !display.has(key))
    .sort();
  return [...known, ...other].map((key) => ({
    name: display.get(key) ?? key,
    value: String(values[key]),
  }));
}

export function formatCountersTable(counters: CounterRecord): string[] {
  const groups: Array<{ title: string; rows: Row[] }> = [];
  for (const [group, title, names] of KNOWN) {
    const values = counters[group];
    if (values !== undefined) groups.push({ title, rows: groupRows(values, names) });
  }
  const knownIds = new Set(KNOWN.map(([group]) => group));
  for (const group of Object.keys(counters).sort()) {
    if (!knownIds.has(group)) groups.push({ title: group, rows: groupRows(counters[group]!, {}) });
  }

  const rows = groups.flatMap((g) => g.rows);
  const nameWidth = Math.max(0, ...rows.map((r) => r.name.length));
  const valueWidth = Math.max(0, ...rows.map((r) => r.value.length));
  const lines = [`Counters: ${rows.length}`];
  for (const { title, rows: groupLines } of groups) {
    lines.push(`  ${title}`);
    for (const { name, value } of groupLines) {
      lines.push(`    ${name.padEnd(nameWidth)}  ${value.padStart(valueWidth)}`);
    }
  }
  return lines;
}

// Reads `word<TAB>count` outputs and checks that two runs counted the same words the same number of times.
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";

export interface WordCounts {
  counts: Map<string, number>;
  total: number;
}

/** The output files of a run: the file itself, or a job folder's `part-*` files. */
export async function outputFiles(path: string): Promise<string[]> {
  try {
    const names = await readdir(path);
    return names
      .filter((n) => n.startsWith("part-"))
      .sort()
      .map((n) => join(path, n));
  } catch {
    return [path];
  }
}

export async function readWordCounts(path: string): Promise<WordCounts> {
  const counts = new Map<string, number>();
  let total = 0;
  for (const file of await outputFiles(path)) {
    const lines = createInterface({
      input: createReadStream(file),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      if (line === "") continue;
      const tab = line.indexOf("\t");
      const word = tab < 0 ? line : line.slice(0, tab);
      const n = tab < 0 ? Number.NaN : Number(line.slice(tab + 1));
      // A word listed twice (in two parts, say) is itself a bug worth seeing, so it adds up to a mismatch.
      counts.set(word, (counts.get(word) ?? 0) + n);
      total += n;
    }
  }
  return { counts, total };
}

/** Undefined when equal; otherwise a one-line account of how they differ. */
export function compareWordCounts(reference: WordCounts, other: WordCounts): string | undefined {
  const differing: string[] = [];
  let missing = 0;
  for (const [word, n] of reference.counts) {
    const m = other.counts.get(word);
    if (m === undefined) missing++;
    if (m !== n && differing.length < 3) differing.push(`${word}: ${n} vs ${m ?? "absent"}`);
  }
  const extra = [...other.counts.keys()].filter((w) => !reference.counts.has(w)).length;
  if (
    differing.length === 0 &&
    extra === 0 &&
    reference.total === other.total &&
    reference.counts.size === other.counts.size
  ) {
    return undefined;
  }
  return (
    `total ${other.total} vs ${reference.total}, ${other.counts.size} words vs ${reference.counts.size} ` +
    `(${missing} missing, ${extra} extra)${differing.length ? `; e.g. ${differing.join(", ")}` : ""}`
  );
}

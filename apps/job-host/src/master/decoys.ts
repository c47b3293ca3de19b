// Decoy splits and the secret draw of spot checks (#8): which tasks the job host checks itself, and planted splits that look like real ones to the workers that get them.
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import type { JobHostDb } from "@tormr/db/job-host";
import { readSegment } from "@tormr/mapreduce/input-reader";
import type { Segment, Split } from "@tormr/mapreduce/splits";

/** A split as the job host keeps it: a decoy says which real split it imitates. */
export interface HostSplit extends Split {
  segments: HostSegment[];
  /** A decoy: the index of the real split whose segments it is shown as. */
  decoyOf?: number;
  records?: number;
}

/** A decoy's segment is a file of sampled records, shown to its worker as a real file's range. */
export interface HostSegment extends Segment {
  shownAs?: { name: string; start: number };
}

/**
 * What reduce `partition` reads: partition `partition` of each real map's committed output, in
 * map order (undefined for a map not committed). Decoys' outputs are never read on.
 */
export async function reduceInputs(
  db: JobHostDb,
  jobId: string,
  partition: number,
): Promise<{ map: string; id: string | undefined }[]> {
  const maps = await db.task.findMany({
    where: { job: jobId, kind: "map" },
    orderBy: { index: "asc" },
    select: { name: true, state: true, outputs: true, checkKind: true },
  });
  return maps
    .filter((m) => m.checkKind !== "decoy")
    .map((m) => ({
      map: m.name,
      id:
        m.state === "committed"
          ? (JSON.parse(m.outputs ?? "[]") as string[])[partition]
          : undefined,
    }));
}

/** What a worker is told of a split's segments: a file name and a byte range, never a path. */
export function shownSegments(split: HostSplit): { name: string; start: number; length: number }[] {
  return split.segments.map((s) => ({
    name: s.shownAs?.name ?? basename(s.path),
    start: s.shownAs?.start ?? s.start,
    length: s.end - s.start,
  }));
}

/**
 * The job host's secret draw: uniform numbers in [0, 1) from SHA-256 in counter mode over a seed
 * no worker sees (fresh random bytes per job; `seed` pins it, for tests).
 */
export function secretDraw(seed: string | undefined, jobId: string): () => number {
  const key = seed === undefined ? randomBytes(32) : Buffer.from(`${seed}/${jobId}`);
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + 6 > block.length) {
      block = createHash("sha256").update(key).update(String(counter++)).digest();
      at = 0;
    }
    const value = block.readUIntBE(at, 6) / 2 ** 48;
    at += 6;
    return value;
  };
}

/** `count` distinct indexes of `0..n-1`, drawn without replacement. */
export function drawIndexes(n: number, count: number, draw: () => number): Set<number> {
  const pool = Array.from({ length: n }, (_, i) => i);
  const chosen = new Set<number>();
  for (let i = 0; i < Math.min(count, n); i++) {
    const j = i + Math.floor(draw() * (n - i));
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
    chosen.add(pool[i] as number);
  }
  return chosen;
}

/** How many of `n` there are at `rate`: rounded up, so any rate above 0 gives at least one. */
export function shareCount(n: number, rate: number): number {
  return rate > 0 ? Math.min(n, Math.ceil(n * rate - 1e-9)) : 0;
}

/**
 * Plants `count` decoys among `splits`, at secretly drawn positions (the real splits keep their
 * order; every split is renumbered by its position). Each decoy imitates a real split drawn at
 * random: as many segments, each shown as that split's file and offset, each holding records
 * sampled from the whole input (every line kept with the chance that makes it about as long as
 * the segment it imitates). Its files are written under `dir`, read once to seal, and removed with
 * the job. One pass over the input, whatever the count.
 */
export async function plantDecoys(
  splits: readonly Split[],
  count: number,
  dir: string,
  draw: () => number,
): Promise<HostSplit[]> {
  if (count === 0 || splits.length === 0) return [...splits];
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const total = splits.reduce((n, s) => n + s.segments.reduce((m, g) => m + g.end - g.start, 0), 0);
  const decoys = Array.from({ length: count }, (_, d) => {
    const template = splits[Math.floor(draw() * splits.length)] as Split;
    return {
      template,
      sinks: template.segments.map((segment, i) => {
        const path = join(dir, `${d}-${i}`);
        return {
          path,
          segment,
          chance: total > 0 ? (segment.end - segment.start) / total : 1,
          out: createWriteStream(path, { mode: 0o600 }),
          bytes: 0,
        };
      }),
    };
  });
  const sinks = decoys.flatMap((d) => d.sinks);
  let firstLine: Buffer | undefined;
  for (const split of splits) {
    for (const segment of split.segments) {
      let rest: Buffer = Buffer.alloc(0);
      for await (const chunk of readSegment(segment)) {
        const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
        let from = 0;
        for (let nl = data.indexOf(10, from); nl >= 0; nl = data.indexOf(10, from)) {
          const line = data.subarray(from, nl + 1);
          firstLine ??= Buffer.from(line);
          for (const sink of sinks) {
            if (draw() < sink.chance) await write(sink, line);
          }
          from = nl + 1;
        }
        rest = Buffer.from(data.subarray(from));
      }
      if (rest.length > 0) {
        const line = Buffer.concat([rest, Buffer.from("\n")]);
        for (const sink of sinks) if (draw() < sink.chance) await write(sink, line);
      }
    }
  }
  for (const sink of sinks) {
    // A decoy holds at least one record, as every real split does.
    if (sink.bytes === 0 && firstLine) await write(sink, firstLine);
    sink.out.end();
    await once(sink.out, "close");
  }
  const positions = drawIndexes(splits.length + count, count, draw);
  const planted: HostSplit[] = [];
  let real = 0;
  let decoy = 0;
  for (let index = 0; index < splits.length + count; index++) {
    if (!positions.has(index)) {
      planted.push({ ...(splits[real++] as Split), index });
      continue;
    }
    const { template, sinks: files } = decoys[decoy++] as (typeof decoys)[number];
    const segments: HostSegment[] = [];
    for (const file of files) {
      const size = (await stat(file.path)).size;
      segments.push({
        path: file.path,
        start: 0,
        end: size,
        shownAs: { name: basename(file.segment.path), start: file.segment.start },
      });
    }
    planted.push({
      index,
      segments,
      bytes: segments.reduce((n, s) => n + s.end, 0),
      decoyOf: template.index,
    });
  }
  // A decoy's template is named by its new index.
  const ordinal = new Map(splits.map((s, i) => [s.index, i]));
  const renumbered = planted.filter((s) => s.decoyOf === undefined).map((s) => s.index);
  for (const split of planted) {
    if (split.decoyOf !== undefined) {
      split.decoyOf = renumbered[ordinal.get(split.decoyOf) ?? 0] as number;
    }
  }
  return planted;
}

async function write(sink: { out: WriteStream; bytes: number }, line: Buffer): Promise<void> {
  sink.bytes += line.length;
  if (!sink.out.write(line)) await once(sink.out, "drain");
}

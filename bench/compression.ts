// Bucket compression: ratio and speed of gzip and brotli levels on text and on map output, and the default they give.
// Usage: node --import tsx bench/compression.ts
import { readFile } from "node:fs/promises";
import { Readable, type Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  COMPRESSION_KEY,
  DEFAULT_COMPRESSION,
  DEFAULT_LEVELS,
} from "@tormr/mapreduce/compression-setting";
import { type BucketCodec, compressStream, decompressStream } from "@tormr/protocol/bucket-codec";
import { ensureCorpus, MiB } from "./corpus.ts";

/** The slice of the corpus measured, and the most map output measured. */
const SLICE_BYTES = 24 * MiB;
const PIECE = 64 * 1024;
const REPETITIONS = 3;
/**
 * One onion stream moves 5 to 10 MB/s on the private Tor network (measured on this machine's private Tor network). Compressing
 * at 3 times the fast end of that keeps compression off the critical path, so this is the floor.
 */
const ONION_MBPS = 10;
const MIN_MBPS = 3 * ONION_MBPS;

export const CANDIDATES: BucketCodec[] = [
  { codec: "gzip", level: 1 },
  { codec: "gzip", level: 3 },
  { codec: "gzip", level: 6 },
  { codec: "brotli", level: 1 },
  { codec: "brotli", level: 4 },
  { codec: "brotli", level: 6 },
];

interface Sample {
  name: string;
  data: Buffer;
}

interface Measured {
  codec: BucketCodec;
  sample: string;
  plain: number;
  packed: number;
  /** Best MB/s (10^6 bytes of plaintext a second) over the repetitions. */
  compressMbps: number;
  decompressMbps: number;
}

const label = (c: BucketCodec) => `${c.codec}:${c.level}`;
const gzip = CANDIDATES.filter((c) => c.codec === "gzip");
const brotli = CANDIDATES.filter((c) => c.codec === "brotli");

/** Map output as a word count's map writes it: `word\t1` per word, sorted as each partition is. */
function mapOutput(text: Buffer, limit: number): Buffer {
  const words = text.toString("latin1").match(/[A-Za-z]+/g) ?? [];
  const lines: string[] = [];
  let size = 0;
  for (const word of words) {
    const line = `${word.toLowerCase()}\t1\n`;
    if (size + line.length > limit) break;
    lines.push(line);
    size += line.length;
  }
  // Byte order, as LC_ALL=C sort and the engine's merge order it (the words are ASCII).
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.from(lines.join(""), "latin1");
}

async function flow(data: Buffer, transform: Transform): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
  });
  let offset = 0;
  const source = new Readable({
    read() {
      this.push(offset < data.length ? data.subarray(offset, offset + PIECE) : null);
      offset += PIECE;
    },
  });
  await pipeline(source, transform, sink);
  return Buffer.concat(parts);
}

/** The best rate of REPETITIONS runs of `work` on `bytes` of plaintext, in MB/s. */
async function bestRate(bytes: number, work: () => Promise<unknown>): Promise<number> {
  let best = 0;
  for (let i = 0; i < REPETITIONS; i++) {
    const started = performance.now();
    await work();
    best = Math.max(best, bytes / 1e6 / ((performance.now() - started) / 1000));
  }
  return best;
}

async function measureOne(codec: BucketCodec, sample: Sample): Promise<Measured> {
  const { data } = sample;
  const compress = () => flow(data, compressStream(codec, { sizeHint: data.length }));
  const packed = await compress();
  const opened = await flow(packed, decompressStream(codec, { plainBytes: data.length }));
  if (!opened.equals(data)) throw new Error(`bench: ${label(codec)} does not round-trip`);
  return {
    codec,
    sample: sample.name,
    plain: data.length,
    packed: packed.length,
    compressMbps: await bestRate(data.length, compress),
    decompressMbps: await bestRate(data.length, () =>
      flow(packed, decompressStream(codec, { plainBytes: data.length })),
    ),
  };
}

/**
 * The default rule: of the codecs that compress and decompress every sample at MIN_MBPS or more,
 * the one that sends the fewest bytes over all samples.
 */
export function choose(
  results: Measured[],
  candidates: BucketCodec[] = CANDIDATES,
): BucketCodec | undefined {
  let best: { codec: BucketCodec; bytes: number } | undefined;
  for (const codec of candidates) {
    const rows = results.filter((r) => label(r.codec) === label(codec));
    if (rows.some((r) => Math.min(r.compressMbps, r.decompressMbps) < MIN_MBPS)) continue;
    const bytes = rows.reduce((sum, r) => sum + r.packed, 0);
    if (!best || bytes < best.bytes) best = { codec, bytes };
  }
  return best?.codec;
}

function row(cells: string[]): string {
  const widths = [12, 20, 9, 8, 12, 14];
  return cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

export async function compressionBench(): Promise<void> {
  const corpus = await ensureCorpus({ limitBytes: SLICE_BYTES });
  const text = Buffer.concat(await Promise.all(corpus.paths.map((p) => readFile(p)))).subarray(
    0,
    SLICE_BYTES,
  );
  const samples: Sample[] = [
    { name: `text (${corpus.source})`, data: text },
    { name: "map output", data: mapOutput(text, SLICE_BYTES) },
  ];
  console.log(
    `${samples.map((s) => `${s.name} ${(s.data.length / 1e6).toFixed(1)} MB`).join(", ")}; ` +
      `${PIECE / 1024} KiB pieces through the job's streams, best of ${REPETITIONS}; node ${process.version}, zlib ${process.versions.zlib}, brotli ${process.versions.brotli}`,
  );
  const results: Measured[] = [];
  for (const codec of CANDIDATES) {
    for (const sample of samples) {
      console.error(`bench: ${label(codec)} on ${sample.name} ...`);
      results.push(await measureOne(codec, sample));
    }
  }
  console.log("");
  console.log(row(["codec", "data", "ratio", "% sent", "compress MB/s", "decompress MB/s"]));
  for (const r of results) {
    console.log(
      row([
        label(r.codec),
        r.sample,
        `${(r.plain / r.packed).toFixed(2)}x`,
        `${((100 * r.packed) / r.plain).toFixed(1)}%`,
        r.compressMbps.toFixed(0),
        r.decompressMbps.toFixed(0),
      ]),
    );
  }
  const verdict = (chosen: BucketCodec | undefined, current: BucketCodec) =>
    `${chosen ? label(chosen) : "none of them"} (the code says ${label(current)}: ` +
    `${chosen && label(chosen) === label(current) ? "agrees" : "DIFFERS, update it"})`;
  console.log(
    `\nrule: the fewest bytes over both samples among codecs that compress and decompress at >= ${MIN_MBPS} MB/s ` +
      `(3x an onion stream's ${ONION_MBPS} MB/s).\nThis run chooses ${verdict(choose(results), DEFAULT_COMPRESSION)} ` +
      `as the default of ${COMPRESSION_KEY}; for "gzip" alone ` +
      `${verdict(choose(results, gzip), { codec: "gzip", level: DEFAULT_LEVELS.gzip })}, for "brotli" alone ` +
      `${verdict(choose(results, brotli), { codec: "brotli", level: DEFAULT_LEVELS.brotli })}.`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await compressionBench();

// Builds, once, a cached text corpus from the machine's man and doc pages (or generated text).
import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { DOC_ROOTS, type DocStats, docPages } from "./_doc-pages.ts";
import { generatedText } from "./_generated-text.ts";

export const MiB = 1024 * 1024;
export const DEFAULT_CACHE_ROOT = fileURLToPath(new URL("../.bench-cache/", import.meta.url));
/** A part file closes at the first file boundary past this size. */
const PART_BYTES = 32 * MiB;
/** Below this much doc text the machine is treated as having none. */
const MIN_DOC_BYTES = 1 * MiB;
/** What "everything" means when the text has to be generated. */
const GENERATED_ALL_BYTES = 256 * MiB;

const markerSchema = z.object({
  source: z.enum(["docs", "generated"]),
  bytes: z.number().int().nonnegative(),
  files: z.array(z.string()).min(1),
  docFiles: z.number().int().nonnegative(),
  buildSeconds: z.number().nonnegative(),
});

export type Corpus = z.infer<typeof markerSchema> & {
  /** The folder holding the part files; pass it as a job's -input. */
  dir: string;
  /** Absolute paths of the part files, in order. */
  paths: string[];
  reused: boolean;
};

export interface CorpusOptions {
  /** Stop after this many bytes (cut at a line end); undefined takes every page. */
  limitBytes?: number | undefined;
  cacheRoot?: string;
  /** Folders to take pages from; the man and doc folders unless given. */
  docRoots?: readonly string[];
  log?: (line: string) => void;
}

export function corpusLabel(limitBytes: number | undefined): string {
  if (limitBytes === undefined) return "all";
  return limitBytes % MiB === 0 ? `${limitBytes / MiB}mb` : `${limitBytes}b`;
}

// The marker sits beside the folder, not in it, so that the folder holds only input files.
const markerPath = (dir: string) => `${dir}.json`;

async function readMarker(dir: string): Promise<Corpus | undefined> {
  try {
    const marker = markerSchema.parse(JSON.parse(await readFile(markerPath(dir), "utf8")));
    const paths = marker.files.map((f) => join(dir, f));
    let bytes = 0;
    for (const path of paths) bytes += (await stat(path)).size;
    if (bytes !== marker.bytes) return undefined;
    return { ...marker, dir, paths, reused: true };
  } catch {
    return undefined; // absent, half-written or from an older layout: build afresh
  }
}

/** Writes chunks into part files of about `targetBytes`, each ending on a line end. */
class PartWriter {
  readonly files: string[] = [];
  bytes = 0;
  private out: WriteStream | undefined;
  private partBytes = 0;

  constructor(
    private readonly dir: string,
    private readonly targetBytes: number,
    private readonly onPart: (writer: PartWriter) => void,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    if (!this.out) {
      const name = `part-${String(this.files.length).padStart(5, "0")}.txt`;
      this.files.push(name);
      this.out = createWriteStream(join(this.dir, name));
      this.partBytes = 0;
    }
    if (!this.out.write(chunk)) await once(this.out, "drain");
    this.bytes += chunk.length;
    this.partBytes += chunk.length;
    // Chunks are whole files or whole lines, so a part only ever ends after a newline.
    if (this.partBytes >= this.targetBytes && chunk[chunk.length - 1] === 0x0a)
      await this.closePart();
  }

  async closePart(): Promise<void> {
    const out = this.out;
    if (!out) return;
    this.out = undefined;
    out.end();
    await once(out, "close");
    this.onPart(this);
  }
}

/** Copies chunks until `limit` bytes, cutting the last one after its final newline. */
async function fill(
  writer: PartWriter,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  limit: number,
): Promise<void> {
  for await (const chunk of chunks) {
    const room = limit - writer.bytes;
    if (chunk.length <= room) {
      await writer.write(chunk);
      if (chunk.length === room) break;
      continue;
    }
    const cut = chunk.lastIndexOf(0x0a, room - 1);
    if (cut >= 0) await writer.write(chunk.subarray(0, cut + 1));
    break;
  }
  await writer.closePart();
}

/**
 * Returns the corpus for `limitBytes`, building it under `<cacheRoot>/corpus-<label>/`
 * the first time, with its marker `corpus-<label>.json` beside it. The build streams: at
 * most one source file and one write buffer are in memory. It is written to a temporary
 * folder, renamed, and only then marked, so an interrupted build is never reused.
 */
export async function ensureCorpus(options: CorpusOptions = {}): Promise<Corpus> {
  const { limitBytes, cacheRoot = DEFAULT_CACHE_ROOT, docRoots = DOC_ROOTS } = options;
  const log = options.log ?? ((line: string) => console.error(line));
  if (limitBytes !== undefined && (!Number.isInteger(limitBytes) || limitBytes < 1)) {
    throw new RangeError(
      `corpus limit: expected a positive whole number of bytes, got ${limitBytes}`,
    );
  }
  const dir = join(cacheRoot, `corpus-${corpusLabel(limitBytes)}`);
  const cached = await readMarker(dir);
  if (cached) return cached;

  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const building = `${dir}.building-${process.pid}`;
  const progress = (source: string) => (writer: PartWriter) =>
    log(
      `corpus: ${(writer.bytes / MiB).toFixed(0)} MB of ${source} in ${writer.files.length} part(s), ${seconds().toFixed(1)} s`,
    );

  await rm(markerPath(dir), { force: true });
  await rm(building, { recursive: true, force: true });
  await mkdir(building, { recursive: true });
  log(
    `corpus: building ${dir} from man and doc pages (${limitBytes === undefined ? "all of them" : `${(limitBytes / MiB).toFixed(0)} MB`})`,
  );
  const stats: DocStats = { files: 0, skipped: 0 };
  let writer = new PartWriter(building, PART_BYTES, progress("doc pages"));
  await fill(writer, docPages(stats, docRoots), limitBytes ?? Number.POSITIVE_INFINITY);
  let source: "docs" | "generated" = "docs";

  if (writer.bytes < Math.min(MIN_DOC_BYTES, limitBytes ?? MIN_DOC_BYTES)) {
    log(`corpus: only ${writer.bytes} bytes of doc pages here; generating seeded text instead`);
    await rm(building, { recursive: true, force: true });
    await mkdir(building, { recursive: true });
    const bytes = limitBytes ?? GENERATED_ALL_BYTES;
    writer = new PartWriter(building, PART_BYTES, progress("generated text"));
    await fill(writer, generatedText(bytes), bytes);
    source = "generated";
  }

  const marker: z.infer<typeof markerSchema> = {
    source,
    bytes: writer.bytes,
    files: writer.files,
    docFiles: stats.files,
    buildSeconds: Math.round(seconds() * 10) / 10,
  };
  await rm(dir, { recursive: true, force: true });
  await rename(building, dir);
  await writeFile(markerPath(dir), `${JSON.stringify(marker, null, 2)}\n`);
  log(
    `corpus: done, ${(marker.bytes / MiB).toFixed(1)} MB in ${marker.files.length} part(s) from ${source === "docs" ? `${stats.files} files (${stats.skipped} skipped)` : "the generator"}, ${marker.buildSeconds} s`,
  );
  return { ...marker, dir, paths: marker.files.map((f) => join(dir, f)), reused: false };
}

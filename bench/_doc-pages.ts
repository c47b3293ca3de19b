// Streams the text of the machine's man and doc pages, one file at a time, gunzipping as it goes.
import type { Dirent } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";

const gunzipAsync = promisify(gunzip);

export const DOC_ROOTS = ["/usr/share/man", "/usr/share/doc"];

/** Compressed formats we do not unpack; their bytes would only be noise. */
const SKIPPED_SUFFIXES = [".bz2", ".xz", ".zst", ".lz", ".lzma", ".Z", ".zip", ".jar"];
const NEWLINE = Buffer.from("\n");

export interface DocStats {
  /** Files whose text was yielded. */
  files: number;
  /** Files passed over: binaries, other compressions, unreadable or corrupt ones. */
  skipped: number;
}

async function* walk(dir: string): AsyncGenerator<string> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // a missing root or an unreadable folder simply has no pages
  }
  // Sorted, so the corpus is the same on every run on the same machine.
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    // Dirent reports symlinks as symlinks, so neither linked files nor linked folders are followed.
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

async function readText(path: string): Promise<Buffer | undefined> {
  if (SKIPPED_SUFFIXES.some((suffix) => path.endsWith(suffix))) return undefined;
  try {
    const raw = await readFile(path);
    const text = path.endsWith(".gz") ? await gunzipAsync(raw) : raw;
    // A NUL byte marks a binary (images, tarballs, compiled catalogs).
    return text.length === 0 || text.includes(0) ? undefined : text;
  } catch {
    return undefined;
  }
}

/**
 * Yields each text file's bytes, always ending in a newline so that words of
 * neighbouring files never run together. Only one file is held at a time.
 */
export async function* docPages(
  stats: DocStats,
  roots: readonly string[] = DOC_ROOTS,
): AsyncGenerator<Buffer> {
  for (const root of roots) {
    for await (const path of walk(root)) {
      const text = await readText(path);
      if (!text) {
        stats.skipped++;
        continue;
      }
      stats.files++;
      yield text;
      if (text[text.length - 1] !== 0x0a) yield NEWLINE;
    }
  }
}

// Seeded test input as bytes: words with non-ASCII and astral characters, CRLF and blank lines, a few invalid UTF-8 bytes.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A deterministic PRNG (mulberry32), so every run sees the same corpus. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ne",
  "su",
  "ta",
  "ri",
  "k",
  "Ä",
  "é",
  "日本",
  "😀",
  "e\u0301",
];

export interface CorpusOptions {
  /** Share of lines ending in "\r\n". */
  crlf?: number;
  /** Share of lines holding a byte sequence that is not UTF-8. */
  badBytes?: number;
}

/** About `bytes` bytes of Zipf-ish words; lines end with "\n" except as `options` say. */
export function makeCorpus(bytes: number, seed: number, options: CorpusOptions = {}): Buffer {
  const random = prng(seed);
  const vocabulary = Array.from({ length: 3000 }, (_, i) => {
    let w = "";
    for (let n = 1 + (i % 4); n > 0; n--) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    return w;
  });
  const pieces: Buffer[] = [];
  let size = 0;
  while (size < bytes) {
    const words: string[] = [];
    const n = Math.floor(random() * 12);
    for (let i = 0; i < n; i++) {
      words.push(vocabulary[Math.floor(random() ** 3 * vocabulary.length)] as string);
    }
    const line = Buffer.from(words.join(random() < 0.1 ? "  " : " "));
    const bad = random() < (options.badBytes ?? 0);
    // A lone continuation byte, a cut-off sequence, an overlong one: all decode to U+FFFD.
    const junk = [Buffer.from([0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0xc0, 0xaf])];
    const end = random() < (options.crlf ?? 0) ? "\r\n" : "\n";
    const piece = Buffer.concat([
      line,
      bad ? (junk[Math.floor(random() * junk.length)] as Buffer) : Buffer.alloc(0),
      Buffer.from(end),
    ]);
    pieces.push(piece);
    size += piece.length;
  }
  return Buffer.concat(pieces);
}

/**
 * `files` input files of about `bytes` each in `dir`/input; the last has no final newline. Each is
 * larger than `splitSize`, so that no split packs two files together.
 */
export function writeCorpus(
  dir: string,
  files: number,
  bytes: number,
  seed: number,
  options: CorpusOptions = {},
): string {
  const input = join(dir, "input");
  mkdirSync(input, { recursive: true });
  for (let i = 0; i < files; i++) {
    let data = makeCorpus(bytes, seed + i, options);
    if (i === files - 1) data = data.subarray(0, data.lastIndexOf(10));
    writeFileSync(join(input, `file-${i}.txt`), data);
  }
  return input;
}

// A seeded, deterministic stand-in corpus: Zipf-distributed words from a fixed vocabulary.

const SEED = 0x7e11_2024;
const VOCABULARY_SIZE = 50_000;
/** Close to the exponent measured for English text. */
const ZIPF_EXPONENT = 1.05;
const CHUNK_BYTES = 1024 * 1024;

// biome-ignore format: one table, not one syllable per line
const SYLLABLES = [
  "ba", "be", "bi", "bo", "cal", "con", "da", "de", "di", "do", "el", "en", "er", "fa", "fi",
  "for", "ga", "ge", "ha", "he", "in", "is", "ka", "ki", "la", "le", "li", "lo", "ma", "me",
  "mi", "mo", "na", "ne", "ni", "no", "or", "pa", "pe", "po", "qu", "ra", "re", "ri", "ro",
  "sa", "se", "si", "so", "ta", "te", "ti", "to", "tion", "un", "va", "ve", "wa", "xe", "zo",
];

/** mulberry32: tiny, fast and good enough to pick words; not for anything secret. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vocabulary(random: () => number): string[] {
  const words = new Set<string>();
  while (words.size < VOCABULARY_SIZE) {
    const syllables = 1 + Math.floor(random() * 4);
    let word = "";
    for (let i = 0; i < syllables; i++) {
      word += SYLLABLES[Math.floor(random() * SYLLABLES.length)] ?? "";
    }
    words.add(word);
  }
  return [...words];
}

/** Cumulative Zipf weights, normalised to end at 1. */
function zipfCdf(size: number, exponent: number): Float64Array {
  const cdf = new Float64Array(size);
  let total = 0;
  for (let rank = 0; rank < size; rank++) {
    total += 1 / (rank + 1) ** exponent;
    cdf[rank] = total;
  }
  for (let rank = 0; rank < size; rank++) cdf[rank] = (cdf[rank] ?? 0) / total;
  return cdf;
}

function pick(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((cdf[mid] ?? 1) < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Yields newline-terminated chunks of made-up prose, about 1 MiB each, until
 * `bytes` have been produced (the caller cuts the last chunk). The same seed gives
 * the same text, so every machine without doc pages benches the same input.
 */
export function* generatedText(bytes: number): Generator<Buffer> {
  const random = mulberry32(SEED);
  const words = vocabulary(random);
  const cdf = zipfCdf(words.length, ZIPF_EXPONENT);
  let produced = 0;
  while (produced < bytes) {
    const lines: string[] = [];
    let size = 0;
    while (size < CHUNK_BYTES) {
      const count = 6 + Math.floor(random() * 10);
      const line: string[] = [];
      for (let i = 0; i < count; i++) line.push(words[pick(cdf, random())] ?? "");
      const first = line[0] ?? "";
      line[0] = first.charAt(0).toUpperCase() + first.slice(1);
      const text = `${line.join(" ")}.`;
      lines.push(text);
      size += text.length + 1;
    }
    const chunk = Buffer.from(`${lines.join("\n")}\n`, "latin1");
    produced += chunk.length;
    yield chunk;
  }
}

// Baseline (a): one process, one pass, one Map: the word count to beat, with the jobs' tokenization.
// Usage: node --import tsx bench/baseline-count.ts <output-file> <input-file>...
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { z } from "zod";

// The same words as examples/wordcount: runs of ASCII letters, lowercased after splitting.
const NON_LETTERS = /[^A-Za-z]+/;

const argsSchema = z.tuple([z.string().min(1), z.string().min(1)], z.string().min(1));

/**
 * A copy of `word` that does not point into the chunk it was cut from. V8 keeps longer
 * substrings as views of their parent, so without this every 1 MiB chunk that brought a
 * new long word would stay alive as long as the Map.
 */
function detach(word: string): string {
  return Buffer.from(word, "latin1").toString("latin1");
}

async function countFile(path: string, counts: Map<string, number>): Promise<void> {
  const decoder = new StringDecoder("utf8");
  let carry = "";
  const add = (text: string, final: boolean) => {
    const words = text.split(NON_LETTERS);
    // The last piece may be a word cut by the chunk boundary; finish it with the next chunk.
    const end = final ? words.length : words.length - 1;
    for (let i = 0; i < end; i++) {
      const word = words[i];
      if (!word) continue;
      const n = counts.get(word);
      if (n === undefined) counts.set(detach(word), 1);
      else counts.set(word, n + 1);
    }
    return final ? "" : (words[words.length - 1] ?? "");
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    carry = add(carry + decoder.write(chunk as Buffer), false);
  }
  add(carry + decoder.end(), true);
}

async function main(): Promise<void> {
  const parsed = argsSchema.safeParse(process.argv.slice(2));
  if (!parsed.success) {
    console.error("usage: baseline-count.ts <output-file> <input-file>...");
    process.exit(2);
  }
  const [output, ...inputs] = parsed.data;
  // Counting mixed-case spellings first and folding them at the end is cheaper than
  // lowercasing every word; the result is the same.
  const raw = new Map<string, number>();
  for (const input of inputs) await countFile(input, raw);
  const counts = new Map<string, number>();
  for (const [word, n] of raw) {
    const lower = word.toLowerCase();
    counts.set(lower, (counts.get(lower) ?? 0) + n);
  }

  const out = createWriteStream(output);
  let batch = "";
  for (const [word, n] of counts) {
    batch += `${word}\t${n}\n`;
    if (batch.length >= 64 * 1024) {
      if (!out.write(batch)) await once(out, "drain");
      batch = "";
    }
  }
  out.end(batch);
  await once(out, "close");
}

await main();

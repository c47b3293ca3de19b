// Streams word-count part files and keeps only the most frequent words.
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";

export interface WordCount {
  word: string;
  count: number;
}

/**
 * The `n` most frequent words in `word<TAB>count` files, most frequent first, ties in
 * byte order. Holds n entries, however large the output.
 */
export async function topWords(paths: readonly string[], n: number): Promise<WordCount[]> {
  const top: WordCount[] = [];
  const before = (a: WordCount, b: WordCount) =>
    a.count > b.count || (a.count === b.count && a.word < b.word);
  for (const path of paths) {
    const lines = createInterface({
      input: createReadStream(path),
      crlfDelay: Number.POSITIVE_INFINITY,
    });
    for await (const line of lines) {
      const tab = line.indexOf("\t");
      if (tab < 0) continue;
      const entry = { word: line.slice(0, tab), count: Number(line.slice(tab + 1)) };
      const last = top[top.length - 1];
      if (top.length === n && last && !before(entry, last)) continue;
      let i = top.length;
      while (i > 0 && before(entry, top[i - 1] as WordCount)) i--;
      top.splice(i, 0, entry);
      if (top.length > n) top.pop();
    }
  }
  return top;
}

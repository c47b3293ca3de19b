// Walks a merged, sorted stream one key at a time, handing each key's values out lazily.
import type { MergedBatch } from "./merge.ts";

export class KeyGroups {
  private batch: MergedBatch = { lines: [], keys: [] };
  private i = 0;
  private current: string | undefined;
  records = 0;
  groups = 0;

  constructor(private readonly source: AsyncIterator<MergedBatch>) {}

  private async fill(): Promise<boolean> {
    while (this.i >= this.batch.lines.length) {
      const next = await this.source.next();
      if (next.done) return false;
      this.batch = next.value;
      this.i = 0;
    }
    return true;
  }

  /** Moves to the next key, skipping any values the previous group left unread. */
  async nextKey(): Promise<string | undefined> {
    while (
      this.current !== undefined &&
      (await this.fill()) &&
      this.batch.keys[this.i] === this.current
    ) {
      this.i++;
      this.records++;
    }
    if (!(await this.fill())) return undefined;
    this.current = this.batch.keys[this.i] as string;
    this.groups++;
    return this.current;
  }

  /** The current key's lines, in order; ends where the key changes. */
  lines(): AsyncIterable<string> {
    const key = this.current;
    const next = async (): Promise<IteratorResult<string>> => {
      if (this.i >= this.batch.lines.length && !(await this.fill()))
        return { value: undefined, done: true };
      if (this.batch.keys[this.i] !== key) return { value: undefined, done: true };
      this.records++;
      return { value: this.batch.lines[this.i++] as string, done: false };
    };
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }
}

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

  /** The current key's records, each passed through `map`, in order; ends where the key changes. */
  values<T>(map: (line: string) => T): AsyncIterable<T> {
    return new GroupValues(this, this.current, map);
  }

  /** The next record of `key`, or undefined where the key changes; `null`: read on first. */
  take(key: string | undefined): string | undefined | null {
    if (this.i >= this.batch.lines.length) return null;
    if (this.batch.keys[this.i] !== key) return undefined;
    this.records++;
    return this.batch.lines[this.i++] as string;
  }

  /** Reads the next batch; false at the end of the input. */
  more(): Promise<boolean> {
    return this.fill();
  }
}

/**
 * One key's values as an async iterator. A class rather than closures, as it is made once per
 * key; records already read are handed out without a promise of their own, as most are.
 */
class GroupValues<T> implements AsyncIterator<T>, AsyncIterable<T> {
  private readonly result = { value: undefined as T | undefined, done: false };

  constructor(
    private readonly groups: KeyGroups,
    private readonly key: string | undefined,
    private readonly map: (line: string) => T,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    const step = this.step();
    return (step ??
      this.groups.more().then((more) => (more ? this.step() : this.end()))) as Promise<
      IteratorResult<T>
    >;
  }

  /** The next result, or null when the batch must be refilled first. */
  private step(): IteratorResult<T> | null {
    if (this.result.done) return this.result as IteratorResult<T>;
    const line = this.groups.take(this.key);
    if (line === null) return null;
    if (line === undefined) return this.end();
    this.result.value = this.map(line);
    return this.result as IteratorResult<T>;
  }

  private end(): IteratorResult<T> {
    this.result.value = undefined;
    this.result.done = true;
    return this.result as IteratorResult<T>;
  }
}

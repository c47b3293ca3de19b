// Writes byte-string lines to a file in large buffered writes, counting records and bytes.
import { type FileHandle, open } from "node:fs/promises";

const FLUSH_AT = 1024 * 1024;

export class RunWriter {
  private pending: string[] = [];
  private pendingChars = 0;
  bytes = 0;
  records = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async create(path: string): Promise<RunWriter> {
    return new RunWriter(await open(path, "w"), path);
  }

  /** Where the next line will start, in bytes from the start of the file. */
  get offset(): number {
    return this.bytes + this.pendingChars;
  }

  /** Buffers one line; call `flush` when `full` says so (kept synchronous for the hot loop). */
  add(line: string): void {
    this.pending.push(line);
    this.pendingChars += line.length + 1;
    this.records++;
  }

  get full(): boolean {
    return this.pendingChars >= FLUSH_AT;
  }

  async writeAll(lines: readonly string[]): Promise<void> {
    for (const line of lines) {
      this.add(line);
      if (this.full) await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const buffer = Buffer.from(`${this.pending.join("\n")}\n`, "latin1");
    this.pending = [];
    this.pendingChars = 0;
    await this.handle.write(buffer);
    this.bytes += buffer.length;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }
}

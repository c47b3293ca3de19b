// Writes byte-string lines (or raw bytes) to a file in large buffered writes, counting records and bytes.
import { type FileHandle, open } from "node:fs/promises";
import { countLines } from "./byte-string.ts";

const FLUSH_AT = 1024 * 1024;

export class RunWriter {
  private lines: string[] = [];
  private chunks: Buffer[] = [];
  private pendingBytes = 0;
  bytes = 0;
  records = 0;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
  ) {}

  static async create(path: string): Promise<RunWriter> {
    return new RunWriter(await open(path, "w"), path);
  }

  /** Where the next byte will go, counted from the start of the file. */
  get offset(): number {
    return this.bytes + this.pendingBytes;
  }

  /** Buffers one line; call `flush` when `full` says so (kept synchronous for the hot loop). */
  add(line: string): void {
    this.lines.push(line);
    this.pendingBytes += line.length + 1;
    this.records++;
  }

  /** Buffers bytes as they are (a map-only job's output), counting the lines they end. */
  addRaw(chunk: Buffer): void {
    this.sealLines();
    this.chunks.push(chunk);
    this.pendingBytes += chunk.length;
    this.records += countLines(chunk);
  }

  /** Buffers a block of whole lines (newline-terminated text) holding `records` records. */
  addBlock(text: string, records: number): void {
    this.sealLines();
    this.chunks.push(Buffer.from(text, "latin1"));
    this.pendingBytes += text.length;
    this.records += records;
  }

  get full(): boolean {
    return this.pendingBytes >= FLUSH_AT;
  }

  async writeAll(lines: readonly string[]): Promise<void> {
    for (const line of lines) {
      this.add(line);
      if (this.full) await this.flush();
    }
  }

  async flush(): Promise<void> {
    this.sealLines();
    if (this.chunks.length === 0) return;
    const chunks = this.chunks;
    this.chunks = [];
    this.pendingBytes = 0;
    await this.handle.writev(chunks);
    for (const c of chunks) this.bytes += c.length;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.handle.close();
  }

  private sealLines(): void {
    if (this.lines.length === 0) return;
    this.chunks.push(Buffer.from(`${this.lines.join("\n")}\n`, "latin1"));
    this.lines = [];
  }
}

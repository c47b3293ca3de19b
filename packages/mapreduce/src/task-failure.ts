// The error a failed task attempt ends with: which program, how it exited, and the tail of its stderr.
import { MapReduceError } from "./errors.ts";

export class TaskFailure extends MapReduceError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
    options?: { cause?: unknown },
  ) {
    super("ERR_TASK_FAILED", message, options);
  }
}

/** Keeps the last `maxLines` lines (and at most `maxChars`) of a stream of text lines. */
export class TailBuffer {
  private readonly lines: string[] = [];
  constructor(
    private readonly maxLines = 20,
    private readonly maxChars = 4096,
  ) {}

  push(line: string): void {
    this.lines.push(line.length > this.maxChars ? `${line.slice(0, this.maxChars)}…` : line);
    if (this.lines.length > this.maxLines) this.lines.shift();
  }

  toString(): string {
    const text = this.lines.join("\n");
    return text.length > this.maxChars ? text.slice(text.length - this.maxChars) : text;
  }
}

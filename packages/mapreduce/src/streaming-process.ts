// Runs one Hadoop Streaming program: stdin and stdout as byte streams, `reporter:` lines read from stderr.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { LineSplitter } from "./byte-string.ts";
import type { Counters } from "./counters.ts";
import { TailBuffer, TaskFailure } from "./task-failure.ts";

export interface StreamingProcessOptions {
  /** "mapper", "combiner" or "reducer": named in errors. */
  role: string;
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  counters: Counters;
  onStatus?: (status: string) => void;
}

const COUNTER_PREFIX = "reporter:counter:";
const STATUS_PREFIX = "reporter:status:";

export class StreamingProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly tail = new TailBuffer();
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private spawnError: Error | undefined;

  constructor(private readonly options: StreamingProcessOptions) {
    // A shell, so that commands with arguments and quoting work as written in -mapper.
    this.child = spawn("/bin/sh", ["-c", options.command], {
      cwd: options.cwd,
      env: options.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.child.on("error", (error) => {
      this.spawnError = error;
    });
    // A program may exit without reading all of its input (like `head`); that is its choice.
    this.child.stdin.on("error", () => {});
    const stderr = new LineSplitter();
    this.child.stderr.on("data", (chunk: Buffer) => {
      for (const line of stderr.push(chunk)) this.readStderrLine(line);
    });
    this.child.stderr.on("end", () => {
      for (const line of stderr.end()) this.readStderrLine(line);
    });
    this.exited = once(this.child, "close").then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  get stdout(): AsyncIterable<Buffer> {
    return this.child.stdout;
  }

  get stdoutStream(): NodeJS.ReadableStream {
    return this.child.stdout;
  }

  /** Writes to the program's stdin, waiting while its pipe is full. */
  async write(chunk: Buffer): Promise<void> {
    const stdin = this.child.stdin;
    if (stdin.destroyed || stdin.writableEnded) return;
    if (stdin.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        stdin.off("drain", done);
        stdin.off("close", done);
        resolve();
      };
      stdin.on("drain", done);
      stdin.on("close", done);
    });
  }

  endInput(): void {
    if (!this.child.stdin.destroyed) this.child.stdin.end();
  }

  /**
   * Feeds stdin and reads stdout at once (either alone could fill a pipe and stall), then waits
   * for the exit. On any failure the program is killed, so no attempt leaves one behind.
   */
  async drive<T>(feed: () => Promise<void>, consume: () => Promise<T>): Promise<T> {
    const feeding = (async () => {
      try {
        await feed();
      } finally {
        this.endInput();
      }
    })();
    try {
      const result = await consume();
      await feeding;
      await this.wait();
      return result;
    } catch (error) {
      this.kill();
      await feeding.catch(() => {});
      throw error;
    }
  }

  /** Waits for the program to exit; a non-zero exit or a signal fails the attempt. */
  async wait(): Promise<void> {
    const { code, signal } = await this.exited;
    const { role, command } = this.options;
    if (this.spawnError) {
      throw new TaskFailure(
        `${role} '${command}' could not start: ${this.spawnError.message}`,
        null,
        this.tail.toString(),
      );
    }
    if (signal !== null) {
      throw new TaskFailure(
        `${role} '${command}' was killed by ${signal}`,
        null,
        this.tail.toString(),
      );
    }
    if (code !== 0) {
      throw new TaskFailure(
        `${role} '${command}' exited with code ${code}`,
        code,
        this.tail.toString(),
      );
    }
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }

  private readStderrLine(raw: string): void {
    const line = Buffer.from(raw, "latin1").toString("utf8");
    if (line.startsWith(COUNTER_PREFIX)) {
      // reporter:counter:<group>,<counter>,<amount>; the group may itself hold no comma.
      const parts = line.slice(COUNTER_PREFIX.length).split(",");
      const amount = Number(parts.pop());
      if (parts.length >= 2 && Number.isFinite(amount)) {
        const [group, ...name] = parts;
        this.options.counters.increment(group as string, name.join(","), amount);
        return;
      }
    } else if (line.startsWith(STATUS_PREFIX)) {
      this.options.onStatus?.(line.slice(STATUS_PREFIX.length));
      return;
    }
    this.tail.push(line);
  }
}

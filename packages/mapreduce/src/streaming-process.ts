// Runs one Hadoop Streaming program: stdin and stdout as byte streams, `reporter:` lines read from stderr.
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { LineSplitter } from "./byte-string.ts";
import type { Counters } from "./counters.ts";
import { TailBuffer, TaskFailure } from "./task-failure.ts";

/** A started program: its three pipes, how it ended, and a way to stop it. */
export interface LaunchedProgram {
  stdin: NodeJS.WritableStream & { destroyed: boolean; writableEnded: boolean; end(): void };
  stdout: NodeJS.ReadableStream & AsyncIterable<Buffer>;
  stderr: NodeJS.ReadableStream;
  /** Never rejects. `error`: it could not start; `reason`: a sandbox limit ended it. */
  exited: Promise<{ code: number | null; signal: string | null; error?: Error; reason?: string }>;
  kill(): void;
}

/** Starts `command` in `cwd` with `env`: on this machine by default, or inside a sandbox. */
export type Launcher = (
  command: string,
  options: { cwd: string; env: NodeJS.ProcessEnv },
) => LaunchedProgram;

/** A shell, so that commands with arguments and quoting work as written in -mapper. */
export const shellLauncher: Launcher = (command, { cwd, env }) => {
  const child: ChildProcessWithoutNullStreams = spawn("/bin/sh", ["-c", command], {
    cwd,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let error: Error | undefined;
  child.on("error", (e) => {
    error = e;
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited: once(child, "close").then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as string | null,
      ...(error ? { error } : {}),
    })),
    kill: () => {
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
};

export interface StreamingProcessOptions {
  /** "mapper", "combiner" or "reducer": named in errors. */
  role: string;
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  counters: Counters;
  onStatus?: (status: string) => void;
  /** How the program is started; default {@link shellLauncher}. */
  launch?: Launcher;
}

const COUNTER_PREFIX = "reporter:counter:";
const STATUS_PREFIX = "reporter:status:";

export class StreamingProcess {
  private readonly child: LaunchedProgram;
  private readonly tail = new TailBuffer();

  constructor(private readonly options: StreamingProcessOptions) {
    this.child = (options.launch ?? shellLauncher)(options.command, {
      cwd: options.cwd,
      env: options.env,
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
    // Marked handled now: a feed that fails while `consume` still runs (a download whose grant was
    // revoked) would otherwise be an unhandled rejection, which ends the whole worker process.
    // It is still awaited, and its error thrown, below.
    feeding.catch(() => {});
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
    const { code, signal, error, reason } = await this.child.exited;
    const { role, command } = this.options;
    if (error) {
      throw new TaskFailure(
        `${role} '${command}' could not start: ${error.message}`,
        null,
        this.tail.toString(),
      );
    }
    const limit = reason ? ` (it went over its sandbox's ${reason} limit)` : "";
    if (signal !== null) {
      throw new TaskFailure(
        `${role} '${command}' was killed by ${signal}${limit}`,
        null,
        this.tail.toString(),
      );
    }
    if (code !== 0) {
      throw new TaskFailure(
        `${role} '${command}' exited with code ${code}${limit}`,
        code,
        this.tail.toString(),
      );
    }
  }

  kill(): void {
    this.child.kill();
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

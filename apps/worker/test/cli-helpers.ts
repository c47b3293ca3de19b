// Runs tormr-worker commands in-process with a fake task loop, fake sandbox probes and captured output.
import { EventEmitter } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import type { CliIo } from "../src/cli/io.ts";
import { main } from "../src/cli/main.ts";
import type { SandboxProbes } from "../src/cli/pick-sandbox.ts";
import { readEnv } from "../src/env.ts";
import { readStatus } from "../src/status-file.ts";
import type { WorkerLoopOptions, WorkerLoopSummary } from "../src/worker-loop.ts";

export class Capture extends Writable {
  text = "";
  constructor(
    readonly isTTY: boolean,
    readonly columns = 120,
  ) {
    super();
  }
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  /** The JSON lines written so far (pino's output when not a TTY). */
  json(): Array<Record<string, unknown>> {
    return this.text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export const TICKET = `${"T".repeat(40)}abc`;
export const JOB_HOST = "http://127.0.0.1:7311";

export function fakeJob(overrides: Partial<WorkerJob> = {}): WorkerJob {
  return {
    id: "job_abc_0001",
    task: { kind: "streaming", mapper: "python3 mapper.py", reducer: "python3 reducer.py" },
    numReduceTasks: 2,
    files: ["mapper.py", "reducer.py"],
    cmdenv: { API_TOKEN: "requester-secret" },
    conf: {},
    codeDigest: "ab".repeat(32),
    codeBytes: 2048,
    image: "tormr/python:0123456789abcdef",
    ...overrides,
  };
}

export type FakeLoop = (options: WorkerLoopOptions) => Promise<WorkerLoopSummary>;

/** What the real loop does up to joining: show the job, resolve its image, say it joined. */
export async function joinLike(options: WorkerLoopOptions, job = fakeJob()): Promise<void> {
  await options.beforeJoin?.(job);
  await options.resolveImage(job.image);
  options.onEvent?.({ type: "joined", job, pseudonym: options.identity.pseudonym });
}

export const okProbes: SandboxProbes = {
  dockerAnswers: async () => true,
  bwrapWorks: async () => true,
  ensureImage: async (kind) => `tormr/${kind}:local`,
};

export interface World {
  root: string;
  io: CliIo;
  stdout: Capture;
  stderr: Capture;
  stdin: PassThrough & { isTTY?: boolean };
  signals: EventEmitter;
  exits: number[];
  loops: WorkerLoopOptions[];
  workDir: string;
  configDir: string;
  run(...args: string[]): Promise<number>;
  cleanup(): Promise<void>;
}

export interface WorldOptions {
  loop?: FakeLoop;
  tty?: boolean;
  stdinTTY?: boolean;
  probes?: SandboxProbes;
  freeBytes?: number;
  env?: Record<string, string>;
}

export async function world(options: WorldOptions = {}): Promise<World> {
  const root = await mkdtemp(join(tmpdir(), "tormr-worker-cli-"));
  const stdout = new Capture(false);
  const stderr = new Capture(options.tty ?? false);
  const stdin: PassThrough & { isTTY?: boolean } = new PassThrough();
  stdin.isTTY = options.stdinTTY ?? false;
  const signals = new EventEmitter();
  const exits: number[] = [];
  const loops: WorkerLoopOptions[] = [];
  const loop: FakeLoop =
    options.loop ??
    (async (o) => {
      await joinLike(o);
      o.onEvent?.({ type: "left", reason: "the job is over" });
      return { reason: "the job is over", succeeded: 0, failed: 0 };
    });
  const env = readEnv({
    XDG_CONFIG_HOME: join(root, "config"),
    XDG_CACHE_HOME: join(root, "cache"),
    ...options.env,
  });
  const io: CliIo = {
    stdout,
    stderr,
    stdin,
    cwd: root,
    env,
    pid: process.pid,
    now: () => new Date(),
    loadWorkerLoop: async () => (o) => {
      loops.push(o);
      return loop(o);
    },
    probes: options.probes ?? okProbes,
    freeBytes: async () => options.freeBytes ?? 1024 ** 4,
    signals,
    exit: (code) => {
      exits.push(code);
    },
  };
  return {
    root,
    io,
    stdout,
    stderr,
    stdin,
    signals,
    exits,
    loops,
    workDir: env.cacheDir,
    configDir: env.configDir,
    run: (...args) => main(args, io),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Joins, runs one task that waits to be stopped, hands it back, and leaves. */
export const untilStopped: FakeLoop = async (o) => {
  await joinLike(o);
  o.onEvent?.({ type: "task-started", attemptId: "a1", task: "m0", attempt: 0 });
  o.onEvent?.({ type: "task-status", attemptId: "a1", status: "mapping" });
  await new Promise((resolve) => o.signal?.addEventListener("abort", resolve, { once: true }));
  o.onEvent?.({
    type: "task-finished",
    attemptId: "a1",
    task: "m0",
    outcome: "returned",
    message: "handed back: the worker is stopping",
    durationMs: 10,
    bytesIn: 0,
    bytesOut: 0,
  });
  o.onEvent?.({ type: "left", reason: "stopped" });
  return { reason: "stopped", succeeded: 0, failed: 0 };
};

/** Polls until `check` passes (the fake loop runs on its own schedule). */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const statusIs = (workDir: string, state: string) => async () => {
  const status = await readStatus(workDir).catch(() => undefined);
  return status?.state === state && status.running.length === 1;
};

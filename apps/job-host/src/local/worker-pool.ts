// A fixed pool of local worker processes; a task sent to one that dies fails like any other attempt.
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { WorkerKeys } from "@tormr/protocol/task-exchange";
import { type TaskRequest, type TaskResult, workerMessageSchema } from "./messages.ts";

export interface AttemptError {
  code: string;
  message: string;
  exitCode: number | null;
  stderrTail: string;
}

export class AttemptFailed extends Error {
  constructor(readonly detail: AttemptError) {
    super(detail.message);
  }
}

interface Running {
  resolve: (result: TaskResult) => void;
  reject: (error: AttemptFailed) => void;
  onStatus: (status: string) => void;
}

const WORKER_ENTRY = fileURLToPath(new URL("./task-worker.ts", import.meta.url));
// Resolved here, so workers start from any folder, not only from inside the repository.
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

class LocalWorker {
  readonly child: ChildProcess;
  running: (Running & { id: number }) | undefined;
  readonly ready: Promise<unknown>;
  /** The public keys the worker announced when it started. */
  keys: WorkerKeys | undefined;

  constructor(
    entry: string,
    onExit: (worker: LocalWorker, code: number | null, signal: string | null) => void,
  ) {
    this.child = fork(entry, [], {
      // A larger young generation: map output lives until the spill, so fewer scavenges copy it.
      // --expose-gc: the worker collects between tasks, so one task's garbage never meets the next one's.
      execArgv: ["--max-semi-space-size=32", "--expose-gc", "--import", TSX_LOADER],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      serialization: "advanced",
      // Its own process group: a Ctrl-C reaches the runner, which then stops the workers itself.
      detached: true,
    });
    this.ready = once(this.child, "message");
    this.child.on("message", (raw) => this.receive(raw));
    this.child.on("exit", (code, signal) => {
      const running = this.running;
      this.running = undefined;
      running?.reject(
        new AttemptFailed({
          code: "ERR_WORKER_DIED",
          message: `worker process ${this.child.pid} died (${signal ?? `exit code ${code}`})`,
          exitCode: code,
          stderrTail: "",
        }),
      );
      onExit(this, code, signal);
    });
  }

  private receive(raw: unknown): void {
    const parsed = workerMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === "ready") {
      this.keys = message.keys;
      return;
    }
    const running = this.running;
    if (!running || message.id !== running.id) return;
    if (message.type === "status") {
      running.onStatus(message.status);
      return;
    }
    this.running = undefined;
    if (message.type === "done") running.resolve(message.result as unknown as TaskResult);
    else running.reject(new AttemptFailed(message.error));
  }
}

const MAX_START_FAILURES = 3;

/** A task to send, or a function that makes it for the worker that takes it, from its public keys. */
export type PoolRequest =
  | Omit<TaskRequest, "id">
  | ((worker: WorkerKeys) => Promise<Omit<TaskRequest, "id">>);

/** What one attempt of a task sends, and what the runner does when it ends (`undefined`: it failed). */
export interface Attempt {
  request: PoolRequest;
  /** May throw AttemptFailed to fail an attempt whose worker said it succeeded. */
  settle?: (result: TaskResult | undefined) => Promise<void>;
}

/** Kills a worker with the mapper or reducer it runs: each worker leads its own process group. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

function poolClosed(): AttemptFailed {
  return new AttemptFailed({
    code: "ERR_POOL_CLOSED",
    message: "the worker pool was shut down",
    exitCode: null,
    stderrTail: "",
  });
}

export class WorkerPool {
  private readonly workers = new Set<LocalWorker>();
  private readonly idle: LocalWorker[] = [];
  private readonly waiting: {
    resolve: (worker: LocalWorker) => void;
    reject: (e: Error) => void;
  }[] = [];
  private nextId = 1;
  private closed = false;
  private startFailures = 0;
  private broken: Error | undefined;

  /** `entry` is the worker script; tests point it elsewhere. */
  constructor(
    readonly size: number,
    private readonly entry = WORKER_ENTRY,
  ) {
    for (let i = 0; i < size; i++) this.spawn();
  }

  private spawn(): void {
    let started = false;
    const worker = new LocalWorker(this.entry, (dead, code, signal) => {
      this.workers.delete(dead);
      const at = this.idle.indexOf(dead);
      if (at >= 0) this.idle.splice(at, 1);
      if (this.closed) return;
      // A worker that cannot even start would only be replaced by another that cannot: stop.
      if (!started && ++this.startFailures >= MAX_START_FAILURES) {
        this.broken = new Error(
          `worker processes exit before they start (${MAX_START_FAILURES} in a row, the last with ${signal ?? `exit code ${code}`}); ` +
            "their stderr above says why",
        );
        for (const waiter of this.waiting.splice(0)) waiter.reject(this.broken);
        return;
      }
      // Keep the pool at its size while there is work, so one crash does not shrink the job.
      this.spawn();
    });
    this.workers.add(worker);
    void worker.ready.then(() => {
      started = true;
      this.startFailures = 0;
      this.release(worker);
    });
  }

  private release(worker: LocalWorker): void {
    if (!this.workers.has(worker) || this.closed) return;
    const next = this.waiting.shift();
    if (next) next.resolve(worker);
    else this.idle.push(worker);
  }

  private acquire(): Promise<LocalWorker> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed) return Promise.reject(poolClosed());
    const worker = this.idle.shift();
    if (worker) return Promise.resolve(worker);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /**
   * Runs one attempt on the next free worker; rejects with AttemptFailed. The request may be built
   * for the worker that got it, from its public keys (a sealed task's grant and wrapped keys).
   */
  async run(
    request: PoolRequest,
    onStatus: (status: string) => void,
    onStart?: () => void,
  ): Promise<TaskResult> {
    const worker = await this.acquire();
    const id = this.nextId++;
    try {
      if (typeof request === "function") request = await request(worker.keys as WorkerKeys);
      onStart?.();
      return await new Promise<TaskResult>((resolve, reject) => {
        worker.running = { id, resolve, reject, onStatus };
        worker.child.send({ ...request, id } as TaskRequest, (error) => {
          // The worker died between being picked and being told: its exit handler fails the attempt.
          if (error) killGroup(worker.child);
        });
      });
    } finally {
      this.release(worker);
    }
  }

  /** Idle workers are let go to exit on their own; busy ones (a cancelled or failed job) are killed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(poolClosed());
    const alive = [...this.workers].filter(
      (w) => w.child.exitCode === null && w.child.signalCode === null,
    );
    const exits = alive.map((w) => once(w.child, "exit"));
    for (const w of alive) {
      if (w.running || !w.child.connected) killGroup(w.child);
      else w.child.disconnect();
    }
    const grace = setTimeout(() => {
      for (const w of alive) killGroup(w.child);
    }, 2000);
    await Promise.all(exits);
    clearTimeout(grace);
  }
}

// How `start` tells the volunteer what happens: a live line on a terminal, JSON lines otherwise.
import type { WorkerJob } from "@tormr/protocol/worker-api";
import type { WorkerEvent } from "../worker-loop.ts";
import type { WorkerStatus } from "../worker-status.ts";

export type Level = "info" | "warn" | "error";

export interface Reporter {
  /** A notice, warning or the final error; `fields` go into JSON lines only. */
  log(level: Level, message: string, fields?: Record<string, unknown>): void;
  /** The job, shown before joining. */
  job(job: WorkerJob, sandbox: string): void;
  /** One event of the loop, and the status after it. */
  event(event: WorkerEvent, status: WorkerStatus): void;
  /** The status changed without an event of the loop (board mode: waiting, joining). */
  status(status: WorkerStatus): void;
  /** Ends the live line; safe to call more than once. */
  stop(): void;
}

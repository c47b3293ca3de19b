// What a running worker is doing, folded from the loop's events: the shape of status.json.
import { z } from "zod";
import type { WorkerEvent } from "./worker-loop.ts";

const count = z.number().int().nonnegative();

export const workerStatusSchema = z.object({
  version: z.literal(1),
  pid: z.number().int().positive(),
  /** `waiting` and `joining` are board mode's: waiting on the board for a seat, joining its job host. */
  state: z.enum(["starting", "waiting", "joining", "running", "stopping", "left"]),
  /** The job host's URL without any user or password in it; absent while waiting on a board. */
  jobHost: z.string().optional(),
  /** Board mode: the board's URL, the worker's onion name for it and its pseudonym there. */
  board: z.object({ url: z.string(), onion: z.string().optional() }).optional(),
  jobId: z.string().optional(),
  pseudonym: z.string(),
  sandbox: z.enum(["docker", "bwrap", "none"]),
  slots: z.number().int().positive(),
  running: z.array(
    z.object({
      attemptId: z.string(),
      task: z.string(),
      attempt: count,
      status: z.string().optional(),
      startedAt: z.string(),
    }),
  ),
  counts: z.object({ succeeded: count, failed: count, cancelled: count, returned: count }),
  bytesIn: count,
  bytesOut: count,
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Why the worker left (once it has). */
  reason: z.string().optional(),
});
export type WorkerStatus = z.infer<typeof workerStatusSchema>;

export function initialStatus(options: {
  pid: number;
  jobHost?: string;
  board?: string;
  pseudonym: string;
  sandbox: WorkerStatus["sandbox"];
  slots: number;
  now: Date;
}): WorkerStatus {
  const at = options.now.toISOString();
  return {
    version: 1,
    pid: options.pid,
    state: "starting",
    ...(options.jobHost !== undefined ? { jobHost: withoutCredentials(options.jobHost) } : {}),
    ...(options.board !== undefined ? { board: { url: withoutCredentials(options.board) } } : {}),
    pseudonym: options.pseudonym,
    sandbox: options.sandbox,
    slots: options.slots,
    running: [],
    counts: { succeeded: 0, failed: 0, cancelled: 0, returned: 0 },
    bytesIn: 0,
    bytesOut: 0,
    startedAt: at,
    updatedAt: at,
  };
}

/** The next status after `event` (a new object; the old one is left as it was). */
export function applyEvent(status: WorkerStatus, event: WorkerEvent, now: Date): WorkerStatus {
  const next: WorkerStatus = { ...status, updatedAt: now.toISOString() };
  switch (event.type) {
    case "joined":
      return { ...next, state: "running", jobId: event.job.id, pseudonym: event.pseudonym };
    case "task-started":
      return {
        ...next,
        running: [
          ...status.running,
          {
            attemptId: event.attemptId,
            task: event.task,
            attempt: event.attempt,
            startedAt: now.toISOString(),
          },
        ],
      };
    case "task-status":
      return {
        ...next,
        running: status.running.map((task) =>
          task.attemptId === event.attemptId ? { ...task, status: event.status } : task,
        ),
      };
    case "task-finished":
      return {
        ...next,
        running: status.running.filter((task) => task.attemptId !== event.attemptId),
        counts: { ...status.counts, [event.outcome]: status.counts[event.outcome] + 1 },
        bytesIn: status.bytesIn + event.bytesIn,
        bytesOut: status.bytesOut + event.bytesOut,
      };
    case "left":
      return { ...next, state: "left", running: [], reason: event.reason };
  }
}

/** `http://user:secret@host/` → `http://host/`: a URL may carry credentials, files must not. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(not a URL)";
  }
}

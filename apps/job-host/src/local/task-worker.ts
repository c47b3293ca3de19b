// A local worker process: runs the map and reduce attempts its parent sends, one at a time.
import { MapReduceError } from "@tormr/mapreduce/errors";
import { runMapTask } from "@tormr/mapreduce/map-task";
import { runReduceTask } from "@tormr/mapreduce/reduce-task";
import { TaskFailure } from "@tormr/mapreduce/task-failure";
import type { TaskRequest, TaskResult, WorkerMessage } from "./messages.ts";

function send(message: WorkerMessage | { type: "done"; id: number; result: TaskResult }): void {
  // The runner may have let this worker go (a finished or cancelled job): then there is no one to
  // tell, and a write to the closed channel (EPIPE) is no error, just the end of this worker.
  if (!process.connected) return;
  process.send?.(message, undefined, undefined, (error) => {
    if (error) process.exit(0);
  });
}

/** A full collection between tasks keeps the process near its budget (a few tens of ms). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function run(request: TaskRequest): Promise<void> {
  const onStatus = (status: string) => send({ type: "status", id: request.id, status });
  try {
    const result =
      request.type === "map"
        ? await runMapTask({ ...request.options, onStatus })
        : await runReduceTask({ ...request.options, onStatus });
    collectGarbage();
    send({ type: "done", id: request.id, result });
  } catch (error) {
    collectGarbage();
    const e = error instanceof Error ? error : new Error(String(error));
    send({
      type: "failed",
      id: request.id,
      error: {
        code: e instanceof MapReduceError ? e.code : "ERR_INTERNAL",
        message: e.message,
        exitCode: e instanceof TaskFailure ? e.exitCode : null,
        stderrTail: e instanceof TaskFailure ? e.stderrTail : (e.stack ?? ""),
      },
    });
  }
}

if (!process.send) {
  console.error("task-worker: start me with child_process.fork, not by hand");
  process.exit(2);
}
process.on("message", (request: TaskRequest) => void run(request));
// When the runner goes away, so do its workers.
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });

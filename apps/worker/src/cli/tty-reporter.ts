// The terminal view of `start`: notices as lines, and one live status line redrawn under them.
import type { WorkerEvent } from "../worker-loop.ts";
import type { WorkerStatus } from "../worker-status.ts";
import { formatBytes, jobPreviewLines } from "./job-preview.ts";
import { printable } from "./printable.ts";
import type { Reporter } from "./reporter.ts";

export interface TtyStream {
  write(text: string): unknown;
  columns?: number;
}

const CLEAR_LINE = "\r\u001b[2K";

/** `job_x_0001 | m3: reading split (+1 more) | done 4, failed 0 | in 1.0 MiB, out 20 KiB` */
export function statusLine(status: WorkerStatus, width = 100): string {
  const first = status.running[0];
  const idle: Partial<Record<WorkerStatus["state"], string>> = {
    stopping: "stopping",
    starting: status.board ? "registering" : "waiting for a task",
    waiting: "waiting on the board for a seat",
    joining: "reaching the job host",
  };
  const task =
    first === undefined
      ? (idle[status.state] ?? "waiting for a task")
      : `${first.task}${first.status ? `: ${first.status}` : ""}${
          status.running.length > 1 ? ` (+${status.running.length - 1} more)` : ""
        }`;
  const { succeeded, failed } = status.counts;
  const parts = [
    status.jobId ?? (status.board && status.state !== "joining" ? "board" : "joining"),
    task,
    `done ${succeeded}, failed ${failed}`,
    `in ${formatBytes(status.bytesIn)}, out ${formatBytes(status.bytesOut)}`,
  ];
  const line = printable(parts.join(" | "), 1000);
  return line.length > width - 1 ? `${line.slice(0, Math.max(0, width - 2))}…` : line;
}

function finishedLine(event: Extract<WorkerEvent, { type: "task-finished" }>): string {
  const seconds = `${(event.durationMs / 1000).toFixed(1)} s`;
  const detail = event.message ? `: ${printable(event.message, 200)}` : "";
  return `${event.task} ${event.outcome} in ${seconds}${detail}`;
}

export function ttyReporter(stream: TtyStream): Reporter {
  let live = "";
  let stopped = false;
  const print = (text: string) => {
    stream.write(`${live === "" ? "" : CLEAR_LINE}${text}\n${live}`);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (live !== "") stream.write(CLEAR_LINE);
    live = "";
  };
  const redraw = (next: string) => {
    if (stopped || next === live) return;
    live = next;
    stream.write(`${CLEAR_LINE}${live}`);
  };
  return {
    log(level, message) {
      // Errors arrive as whole lines already (`tormr-worker: …`).
      print(level === "warn" ? `tormr-worker: warning: ${message}` : message);
    },
    job(job, sandbox) {
      for (const line of jobPreviewLines(job, sandbox)) print(line);
    },
    event(event, status) {
      if (event.type === "joined") {
        print(
          `Joined job ${printable(event.job.id)} as ${event.pseudonym}; Ctrl-C stops after ` +
            "handing running tasks back",
        );
      } else if (event.type === "task-finished") {
        print(finishedLine(event));
      } else if (event.type === "left") {
        const { succeeded, failed } = status.counts;
        print(
          `Left the job: ${printable(event.reason)} (succeeded ${succeeded}, failed ${failed})`,
        );
        // Board mode goes back to the board after a job; the worker itself is still running.
        if (status.state === "left") {
          stop();
          return;
        }
      }
      // A pty may report 0 columns (e.g. under script(1)): then assume a common width.
      redraw(statusLine(status, stream.columns || 100));
    },
    status(status) {
      redraw(statusLine(status, stream.columns || 100));
    },
    stop,
  };
}

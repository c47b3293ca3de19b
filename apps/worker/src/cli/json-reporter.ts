// The log view of `start` when stderr is not a terminal: one pino JSON line per event.
import { pino } from "pino";
import type { WorkerEvent } from "../worker-loop.ts";
import type { WorkerStatus } from "../worker-status.ts";
import { jobFields } from "./job-preview.ts";
import type { Reporter } from "./reporter.ts";

/**
 * Nothing logged here carries a key or the ticket; the redaction is a second line of defence
 * should a later field name one.
 */
const REDACT = ["ticket", "*.ticket", "privateKey", "*.privateKey", "session", "*.session"];

function eventFields(event: WorkerEvent, status: WorkerStatus): Record<string, unknown> {
  switch (event.type) {
    case "joined":
      return { event: event.type, pseudonym: event.pseudonym, ...jobFields(event.job) };
    case "left":
      return { event: event.type, reason: event.reason, counts: status.counts };
    default: {
      const { type, ...rest } = event;
      return { event: type, ...rest };
    }
  }
}

function eventMessage(event: WorkerEvent): string {
  switch (event.type) {
    case "joined":
      return `joined job ${event.job.id}`;
    case "task-started":
      return `task ${event.task} attempt ${event.attempt} started`;
    case "task-status":
      return event.status;
    case "task-finished":
      return `task ${event.task} ${event.outcome}`;
    case "left":
      return `left the job: ${event.reason}`;
  }
}

export function jsonReporter(stream: { write(text: string): unknown }): Reporter {
  const logger = pino(
    {
      base: { name: "tormr-worker", pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: "[redacted]" },
    },
    stream,
  );
  return {
    log(level, message, fields = {}) {
      logger[level](fields, message);
    },
    job(job, sandbox) {
      logger.info({ event: "job", sandbox, ...jobFields(job) }, `job ${job.id} offered`);
    },
    event(event, status) {
      const level = event.type === "task-finished" && event.outcome === "failed" ? "warn" : "info";
      logger[level](eventFields(event, status), eventMessage(event));
    },
    // Board mode logs its state changes as lines of their own.
    status() {},
    stop() {},
  };
}

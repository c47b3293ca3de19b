// The master's timing and tolerance settings, checked with zod; tests shorten the periods to a second or two.
import { z } from "zod";

export const masterSettingsSchema = z.object({
  /** How often a running attempt heartbeats, and how often the master looks for silent ones. */
  heartbeatMs: z.number().int().min(50).default(5_000),
  /** An attempt silent for this long is lost, and its task re-queued. */
  timeoutMs: z.number().int().min(100).default(30_000),
  /** How long a worker's `next` waits for a task before answering `wait`. */
  pollMs: z.number().int().min(50).default(20_000),
  /** Failed attempts in a row after which a worker is removed from the job. */
  workerMaxFailures: z.number().int().min(1).default(3),
  /** A task that loses its worker this often fails the job (a poison task that kills workers). */
  maxLosses: z.number().int().min(1).default(10),
  /** A lone attempt slower than this many times its finished peers' median is run again. 0: never. */
  speculativeSlowdown: z.number().min(0).default(2),
  /** ... but never before it has run this long. */
  speculativeMinMs: z.number().int().min(0).default(10_000),
  /** How long a finished job's rows and kept buckets stay. */
  retentionMs: z
    .number()
    .int()
    .min(0)
    .default(7 * 24 * 3600 * 1000),
});

export type MasterSettings = z.infer<typeof masterSettingsSchema>;

export function masterSettings(input: Partial<MasterSettings> = {}): MasterSettings {
  const parsed = masterSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`master setting ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

// Who may reach the job host's worker onion: anyone while tickets for unknown workers are out; else exactly the known workers.
import type { JobHostDb } from "@tormr/db/job-host";
import type { MasterSettings } from "./settings.ts";

export type OnionClients =
  /** Some unfinished job has unused tickets made without a key: its workers are not known yet. */
  | { open: true; reason: string }
  /** Base32 x25519 keys of the live workers of unfinished jobs, sorted; empty: nobody. */
  | { open: false; keys: string[] };

const UNFINISHED = { in: ["preparing", "running"] };

/**
 * The client-authorization set the worker onion should have now. A worker counts while it is
 * active in an unfinished job and has been heard from within `timeoutMs + pollMs` (a long poll or
 * a heartbeat); one that left, was removed, or went silent (a killed process) loses access.
 * Unused tickets made for a key add it. Workers that joined without a key (direct) are not in the set.
 */
export async function onionClients(
  db: JobHostDb,
  settings: Pick<MasterSettings, "timeoutMs" | "pollMs">,
  options: {
    now?: Date;
    /** At start, before any worker could be heard: every active worker counts. */
    resuming?: boolean;
  } = {},
): Promise<OnionClients> {
  const now = options.now ?? new Date();
  const jobs = await unfinishedJobs(db);
  const unused = await db.joinTicket.findMany({
    where: { usedAt: null, job: { in: jobs } },
    select: { job: true, clientAuthKey: true },
  });
  const unknown = [...new Set(unused.filter((t) => !t.clientAuthKey).map((t) => t.job))];
  if (unknown.length > 0) {
    return { open: true, reason: `tickets of ${unknown.join(", ")} are for workers not known yet` };
  }
  const since = new Date(now.getTime() - settings.timeoutMs - settings.pollMs);
  const workers = await db.worker.findMany({
    where: {
      job: { in: jobs },
      state: "active",
      ...(options.resuming ? {} : { lastSeen: { gte: since } }),
      clientAuthKey: { not: null },
    },
    select: { clientAuthKey: true },
  });
  // A ticket made for a key lets that worker's tor in before it joins.
  const keys = [
    ...new Set([
      ...workers.map((w) => w.clientAuthKey as string),
      ...unused.map((t) => t.clientAuthKey as string),
    ]),
  ].sort();
  return { open: false, keys };
}

async function unfinishedJobs(db: JobHostDb): Promise<string[]> {
  const jobs = await db.job.findMany({ where: { state: UNFINISHED }, select: { id: true } });
  return jobs.map((j) => j.id);
}

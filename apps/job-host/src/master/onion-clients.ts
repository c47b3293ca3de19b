// Who may reach the job host's worker onion: nobody is known while tickets are out; then exactly the live workers.
import type { JobHostDb } from "@tormr/db/job-host";
import type { MasterSettings } from "./settings.ts";

export type OnionClients =
  /** Some unfinished job still has unused tickets: its workers are not known yet. */
  | { open: true; reason: string }
  /** Base32 x25519 keys of the live workers of unfinished jobs, sorted; empty: nobody. */
  | { open: false; keys: string[] };

const UNFINISHED = { in: ["preparing", "running"] };

/**
 * The client-authorization set the worker onion should have now. A worker counts while it is
 * active in an unfinished job and has been heard from within `timeoutMs + pollMs` (a long poll or
 * a heartbeat); one that left, was removed, or went silent (a killed process) loses access.
 * Workers that joined without a key (direct) are not in the set.
 */
export async function onionClients(
  db: JobHostDb,
  settings: Pick<MasterSettings, "timeoutMs" | "pollMs">,
  now = new Date(),
): Promise<OnionClients> {
  const jobs = await unfinishedJobs(db);
  const unused = await db.joinTicket.findMany({
    where: { usedAt: null, job: { in: jobs } },
    select: { job: true },
    distinct: ["job"],
  });
  if (unused.length > 0) {
    return { open: true, reason: `tickets of ${unused.map((t) => t.job).join(", ")} are unused` };
  }
  const since = new Date(now.getTime() - settings.timeoutMs - settings.pollMs);
  const workers = await db.worker.findMany({
    where: {
      job: { in: jobs },
      state: "active",
      lastSeen: { gte: since },
      clientAuthKey: { not: null },
    },
    select: { clientAuthKey: true },
  });
  const keys = [...new Set(workers.map((w) => w.clientAuthKey as string))].sort();
  return { open: false, keys };
}

async function unfinishedJobs(db: JobHostDb): Promise<string[]> {
  const jobs = await db.job.findMany({ where: { state: UNFINISHED }, select: { id: true } });
  return jobs.map((j) => j.id);
}

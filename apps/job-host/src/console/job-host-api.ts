// The console's only way to the job host: its admin API, at the URL and with the secret its state folder holds.
import { z } from "zod";
import { readEndpoints } from "../master/host-endpoints.ts";

const phaseSchema = z.object({ total: z.number(), committed: z.number(), running: z.number() });
const jobListSchema = z.object({
  jobs: z.array(z.object({ id: z.string(), state: z.string(), createdAt: z.string() })),
});
const jobStatusSchema = z.object({
  id: z.string(),
  state: z.string(),
  maps: phaseSchema,
  reduces: phaseSchema,
  failedAttempts: z.number(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type JobRow = z.infer<typeof jobStatusSchema>;

/** The job host could not be asked: not running, or its answer was not what the API promises. */
export class JobHostUnavailable extends Error {
  override readonly name = "JobHostUnavailable";
  readonly code = "ERR_JOB_HOST";
}

/** The most jobs one page lists (the newest), so one page never makes thousands of calls. */
export const MAX_LISTED = 200;

async function call<T extends z.ZodType>(
  stateDir: string,
  path: string,
  schema: T,
): Promise<z.infer<T>> {
  // Read each time: a restarted job host listens on a new port.
  const host = await readEndpoints(stateDir).catch((error: unknown) => {
    throw new JobHostUnavailable((error as Error).message);
  });
  const res = await fetch(`${host.adminUrl}${path}`, {
    headers: { authorization: `Bearer ${host.adminSecret}` },
    signal: AbortSignal.timeout(10_000),
  }).catch((error: unknown) => {
    throw new JobHostUnavailable(
      `the job host's admin API at ${host.adminUrl} did not answer (${(error as Error).message})`,
    );
  });
  const body: unknown = await res.json().catch(() => undefined);
  const parsed = schema.safeParse(body);
  if (!res.ok || !parsed.success) {
    throw new JobHostUnavailable(
      `the job host's admin API answered GET ${path} with ${res.status}, not the expected JSON`,
    );
  }
  return parsed.data;
}

/** The newest jobs first, each with its task counts (GET /admin/jobs, then GET /admin/jobs/:id). */
export async function listJobs(stateDir: string): Promise<{ rows: JobRow[]; more: number }> {
  const { jobs } = await call(stateDir, "/admin/jobs", jobListSchema);
  const shown = jobs.slice(0, MAX_LISTED);
  const rows: JobRow[] = [];
  // One at a time: the job host's database is one SQLite file, and a page is not urgent.
  for (const job of shown) {
    rows.push(await call(stateDir, `/admin/jobs/${encodeURIComponent(job.id)}`, jobStatusSchema));
  }
  return { rows, more: jobs.length - shown.length };
}

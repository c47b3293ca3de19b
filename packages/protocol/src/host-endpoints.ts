// Where a running job host listens, written into its state folder so that `tormr … --job-host <dir>` can find it.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

export const ENDPOINTS_FILE = "endpoints.json";

const endpointsSchema = z.object({
  workerUrl: z.string().url(),
  adminUrl: z.string().url(),
  pid: z.number().int().positive(),
});
export type HostEndpoints = z.infer<typeof endpointsSchema> & { adminSecret: string };

export class HostNotRunning extends Error {
  override readonly name = "HostNotRunning";
}

export async function writeEndpoints(stateDir: string, endpoints: z.infer<typeof endpointsSchema>) {
  await writeFile(join(stateDir, ENDPOINTS_FILE), `${JSON.stringify(endpoints)}\n`, {
    mode: 0o600,
  });
}

export async function removeEndpoints(stateDir: string): Promise<void> {
  await rm(join(stateDir, ENDPOINTS_FILE), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The endpoints and admin secret of the job host running on `stateDir`.
 * @throws HostNotRunning saying how to start one.
 */
export async function readEndpoints(stateDir: string): Promise<HostEndpoints> {
  const start = `start one with 'tormr host --state-dir ${stateDir}'`;
  const text = await readFile(join(stateDir, ENDPOINTS_FILE), "utf8").catch(() => undefined);
  if (text === undefined)
    throw new HostNotRunning(`no job host is running on ${stateDir}; ${start}`);
  let parsed: z.infer<typeof endpointsSchema>;
  try {
    parsed = endpointsSchema.parse(JSON.parse(text));
  } catch {
    throw new HostNotRunning(
      `${join(stateDir, ENDPOINTS_FILE)} is not a job host's endpoints file`,
    );
  }
  if (!alive(parsed.pid)) {
    throw new HostNotRunning(`the job host on ${stateDir} (pid ${parsed.pid}) is gone; ${start}`);
  }
  const adminSecret = (await readFile(join(stateDir, "admin-secret"), "utf8")).trim();
  return { ...parsed, adminSecret };
}

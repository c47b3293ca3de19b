// status.json in the work folder: written atomically by `start`, read by `status`.
import { randomBytes } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type WorkerStatus, workerStatusSchema } from "./worker-status.ts";

export const STATUS_FILE = "status.json";

export class StatusFileError extends Error {
  override readonly name = "StatusFileError";
  readonly code = "ERR_STATUS_FILE";
}

/** Writes under a temporary name, then renames over the old file, so readers never see half of it. */
export async function writeStatus(workDir: string, status: WorkerStatus): Promise<void> {
  const path = join(workDir, STATUS_FILE);
  const temporary = join(workDir, `.${STATUS_FILE}.${randomBytes(6).toString("hex")}`);
  try {
    await writeFile(temporary, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The last status written in `workDir`, or undefined when no worker has run there. */
export async function readStatus(workDir: string): Promise<WorkerStatus | undefined> {
  const path = join(workDir, STATUS_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StatusFileError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new StatusFileError(`${path} is not JSON; delete it, the next start writes a new one`);
  }
  const parsed = workerStatusSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StatusFileError(
      `${path} is not a worker status (${issue?.path.join(".") || "file"}: ${issue?.message}); ` +
        "delete it, the next start writes a new one",
    );
  }
  return parsed.data;
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Keeps status.json up to date without a write per event: at most one write in flight, and the
 * latest status is written after it. `flush()` resolves once the newest status is on disk.
 */
export function statusWriter(
  workDir: string,
  onError: (error: unknown) => void,
): { update(status: WorkerStatus): void; flush(): Promise<void> } {
  let pending: WorkerStatus | undefined;
  let writing: Promise<void> | undefined;
  const drain = async () => {
    while (pending !== undefined) {
      const status = pending;
      pending = undefined;
      await writeStatus(workDir, status).catch(onError);
    }
    writing = undefined;
  };
  return {
    update(status) {
      pending = status;
      writing ??= drain();
    },
    async flush() {
      while (writing !== undefined) await writing;
    },
  };
}

/** Another worker that is still alive keeps its status in `workDir`: two would mix their files. */
export async function liveWorkerIn(workDir: string, ownPid: number): Promise<number | undefined> {
  const status = await readStatus(workDir).catch(() => undefined);
  if (status === undefined || status.state === "left" || status.pid === ownPid) return undefined;
  return pidAlive(status.pid) ? status.pid : undefined;
}

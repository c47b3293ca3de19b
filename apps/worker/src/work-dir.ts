// Prepares the work folder: made 0700, and refused when its filesystem has less free space than the quota.
import { mkdir, statfs } from "node:fs/promises";

export class WorkDirError extends Error {
  override readonly name = "WorkDirError";
  constructor(
    readonly code: "ERR_WORK_DIR" | "ERR_DISK_SPACE",
    message: string,
  ) {
    super(message);
  }
}

const MIB = 1024 * 1024;

/** Bytes that an unprivileged process may still write on the filesystem holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const info = await statfs(path);
  return info.bavail * info.bsize;
}

/**
 * Makes `workDir` (0700: task data is the requester's) and checks that at least `diskQuotaMb` is
 * free there, since tasks spill their input and output to it.
 * @throws WorkDirError saying how much is free and how to go on.
 */
export async function prepareWorkDir(
  workDir: string,
  diskQuotaMb: number,
  free: (path: string) => Promise<number> = freeBytes,
): Promise<{ freeBytes: number }> {
  try {
    await mkdir(workDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new WorkDirError(
      "ERR_WORK_DIR",
      `cannot make the work folder ${workDir}: ${code}; choose another with --work-dir`,
    );
  }
  const available = await free(workDir);
  if (available < diskQuotaMb * MIB) {
    throw new WorkDirError(
      "ERR_DISK_SPACE",
      `the work folder ${workDir} has ${Math.floor(available / MIB)} MiB free, less than ` +
        `diskQuotaMb (${diskQuotaMb} MiB); free some space, choose another --work-dir, or lower ` +
        "--disk-quota-mb",
    );
  }
  return { freeBytes: available };
}

// A job's files uploaded through the admin API before it is created: streamed to a hidden temporary file, fsynced, then renamed into place.
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { quoteForMessage } from "@tormr/crypto/bucket-id";
import type { JobHostDb } from "@tormr/db/job-host";
import { jobSpecSchema } from "@tormr/mapreduce/job-spec";
import {
  type UploadResult,
  type UploadRole,
  uploadNameSchema,
  uploadRoleSchema,
} from "@tormr/protocol/admin-api";

const STATUS = {
  ERR_BAD_MESSAGE: 400,
  ERR_UPLOAD_ABORTED: 400,
  ERR_UPLOADS_CLOSED: 409,
  ERR_TOO_LARGE: 413,
  ERR_DISK_FULL: 507,
} as const;

export type UploadErrorCode = keyof typeof STATUS;

export class UploadError extends Error {
  override readonly name = "UploadError";
  readonly status: number;
  constructor(
    readonly code: UploadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = STATUS[code];
  }
}

/** One upload as the request names it: checked before any byte is kept. */
export interface UploadTarget {
  jobId: string;
  role: string;
  name: string;
  executable: boolean;
}

export interface JobUploadsOptions {
  /** `<stateDir>/uploads`: each job's files go to `<jobId>/<role>/<name>` under it. */
  root: string;
  db: JobHostDb;
  /** The most one job's uploads may hold together, in bytes (the host's job quota). */
  quotaBytes?: number;
}

/** The bytes of one job's uploads: on disk by path, and still arriving by upload. */
interface JobUsage {
  stored: Map<string, number>;
  arriving: Map<symbol, number>;
}

export class JobUploads {
  /** Only while a job has uploads arriving: then the quota counts them beside what is stored. */
  private readonly usage = new Map<string, JobUsage>();

  constructor(private readonly options: JobUploadsOptions) {}

  /**
   * Checks an upload's job id, role and name, and refuses a job that was already created.
   * @throws UploadError `ERR_BAD_MESSAGE` naming the bad value, or `ERR_UPLOADS_CLOSED`.
   */
  async check(target: {
    jobId: string;
    role: string;
    name: string;
  }): Promise<{ jobId: string; role: UploadRole; name: string }> {
    if (!jobSpecSchema.shape.id.safeParse(target.jobId).success) {
      throw new UploadError(
        "ERR_BAD_MESSAGE",
        `job id ${quoteForMessage(target.jobId)} must look like job_<stamp>_<seq>`,
      );
    }
    const role = uploadRoleSchema.safeParse(target.role);
    if (!role.success) {
      throw new UploadError(
        "ERR_BAD_MESSAGE",
        `upload role ${quoteForMessage(target.role)} must be input or file`,
      );
    }
    const name = uploadNameSchema.safeParse(target.name);
    if (!name.success) {
      throw new UploadError(
        "ERR_BAD_MESSAGE",
        `file name ${quoteForMessage(target.name)}: ${name.error.issues[0]?.message}`,
      );
    }
    const job = await this.options.db.job.findUnique({
      where: { id: target.jobId },
      select: { state: true },
    });
    if (job) {
      throw new UploadError(
        "ERR_UPLOADS_CLOSED",
        `job ${target.jobId} was already submitted (it is ${job.state}); its files can no longer change: start a new job`,
      );
    }
    return { jobId: target.jobId, role: role.data, name: name.data };
  }

  /**
   * Streams `body` into the job's file. Nothing is visible under the name until every byte is on
   * disk: an upload that ends early (aborted, reset, over the quota) leaves no file, and an earlier
   * complete file of that name stays as it was.
   */
  async put(
    target: UploadTarget,
    body: AsyncIterable<Uint8Array>,
    declaredBytes?: number,
  ): Promise<UploadResult> {
    const { jobId, role, name } = await this.check(target);
    const folder = join(this.options.root, jobId, role);
    const path = join(folder, name);
    const usage = await this.track(jobId);
    const upload = Symbol(path);
    usage.arriving.set(upload, 0);
    const temporary = join(folder, `.${name}.${randomBytes(6).toString("hex")}.part`);
    try {
      if (declaredBytes !== undefined) this.checkQuota(usage, target, path, declaredBytes);
      await mkdir(folder, { recursive: true });
      const handle = await open(temporary, "wx", 0o600);
      let bytes = 0;
      try {
        for await (const chunk of body) {
          bytes += chunk.length;
          usage.arriving.set(upload, bytes);
          this.checkQuota(usage, target, path, 0);
          await handle.write(chunk);
        }
        await handle.chmod(target.executable ? 0o755 : 0o644);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // The job may have been created while the bytes arrived: its files must not change now.
      await this.check(target);
      await rename(temporary, path);
      await syncFolder(folder);
      usage.stored.set(path, bytes);
      return { path, bytes };
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw asUploadError(error, target);
    } finally {
      usage.arriving.delete(upload);
      if (usage.arriving.size === 0) this.usage.delete(jobId);
    }
  }

  private async track(jobId: string): Promise<JobUsage> {
    const known = this.usage.get(jobId);
    if (known) return known;
    const usage: JobUsage = {
      stored: await storedFiles(join(this.options.root, jobId)),
      arriving: new Map(),
    };
    // Another upload of the job may have started tracking while the folder was read.
    const raced = this.usage.get(jobId);
    if (raced) return raced;
    this.usage.set(jobId, usage);
    return usage;
  }

  /** Refuses the upload once the job's files would pass the quota (a replaced file no longer counts). */
  private checkQuota(usage: JobUsage, target: UploadTarget, path: string, more: number): void {
    const quota = this.options.quotaBytes;
    if (quota === undefined) return;
    let total = more;
    for (const [stored, bytes] of usage.stored) if (stored !== path) total += bytes;
    for (const bytes of usage.arriving.values()) total += bytes;
    if (total > quota) {
      throw new UploadError(
        "ERR_TOO_LARGE",
        `job ${target.jobId}'s uploads would pass this job host's quota of ${quota} bytes; ${target.role} ${target.name} was not kept`,
      );
    }
  }
}

/** The sizes of a job's uploaded files (its temporary files are not counted). */
async function storedFiles(jobFolder: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const role of uploadRoleSchema.options) {
    const folder = join(jobFolder, role);
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const info = await stat(join(folder, name)).catch(() => undefined);
      if (info?.isFile()) sizes.set(join(folder, name), info.size);
    }
  }
  return sizes;
}

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function asUploadError(error: unknown, target: UploadTarget): unknown {
  if (error instanceof UploadError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const what = `${target.role} ${target.name} of job ${target.jobId}`;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new UploadError("ERR_DISK_FULL", `the job host's disk is full; ${what} was not kept`, {
      cause: error,
    });
  }
  if (code === "ECONNRESET" || code === "ABORT_ERR" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new UploadError("ERR_UPLOAD_ABORTED", `the upload of ${what} ended early`, {
      cause: error,
    });
  }
  return error;
}

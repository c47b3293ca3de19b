// The bucket store's disk: write-once files, written to a temporary name, fsynced, then linked into place.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, rm, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { checkBucketId } from "@tormr/crypto/bucket-id";
import { StoreError } from "./store-error.ts";

export interface WrittenFile {
  size: number;
  /** SHA-256 (hex) of the bytes as stored. */
  digest: string;
}

export class BucketFiles {
  private readonly data: string;
  private readonly tmp: string;

  private constructor(readonly root: string) {
    this.data = join(root, "data");
    this.tmp = join(root, "tmp");
  }

  static async open(root: string): Promise<BucketFiles> {
    const files = new BucketFiles(root);
    await mkdir(files.data, { recursive: true });
    // Whatever a crash left half-written is garbage: no bucket was ever linked from it.
    await rm(files.tmp, { recursive: true, force: true });
    await mkdir(files.tmp, { recursive: true });
    return files;
  }

  /**
   * The file of bucket `id`. Files are named by the SHA-256 of the id, not by the id itself, so no id
   * can reach outside the data folder, and ids that nest (`a/b`, `a/b/c`) never clash as file and folder.
   */
  pathOf(id: string): string {
    try {
      checkBucketId(id);
    } catch (error) {
      throw new StoreError("ERR_BAD_BUCKET_ID", (error as Error).message);
    }
    const name = createHash("sha256").update(id).digest("hex");
    return join(this.data, name.slice(0, 2), name);
  }

  async exists(id: string): Promise<boolean> {
    return (await stat(this.pathOf(id)).catch(() => null)) !== null;
  }

  /**
   * Streams `source` into bucket `id`. Nothing is visible under `id` until every byte is on disk;
   * an error (too large, client gone, disk full) leaves no file behind. Buckets are write-once.
   */
  async write(
    id: string,
    source: AsyncIterable<Uint8Array>,
    maxBytes: number,
  ): Promise<WrittenFile> {
    const path = this.pathOf(id);
    const temporary = join(this.tmp, randomBytes(12).toString("hex"));
    const hash = createHash("sha256");
    let size = 0;
    const handle = await open(temporary, "wx", 0o600);
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > maxBytes) {
          throw new StoreError(
            "ERR_TOO_LARGE",
            `bucket ${id} is over the grant's limit of ${maxBytes} bytes`,
          );
        }
        hash.update(chunk);
        await handle.write(chunk);
      }
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => {});
      await unlink(temporary).catch(() => {});
      throw asStoreError(error, id);
    }
    await handle.close();
    try {
      await mkdir(dirname(path), { recursive: true });
      // link() fails if the name exists, so two writers of one id can never both win.
      await link(temporary, path);
      await syncFolder(dirname(path));
    } catch (error) {
      throw asStoreError(error, id);
    } finally {
      await unlink(temporary).catch(() => {});
    }
    return { size, digest: hash.digest("hex") };
  }

  /** Streams bytes `start`..`end` (inclusive) of bucket `id`. */
  read(id: string, start: number, end: number): Readable {
    return createReadStream(this.pathOf(id), { start, end, highWaterMark: 64 * 1024 });
  }

  async remove(id: string): Promise<void> {
    await rm(this.pathOf(id), { force: true });
  }
}

async function syncFolder(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function asStoreError(error: unknown, id: string): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EEXIST") return new StoreError("ERR_BUCKET_EXISTS", `bucket ${id} already exists`);
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new StoreError("ERR_DISK_FULL", `the store's disk is full; bucket ${id} was not kept`, {
      cause: error,
    });
  }
  if (code === "ECONNRESET" || code === "ABORT_ERR" || code === "ERR_STREAM_PREMATURE_CLOSE") {
    return new StoreError("ERR_UPLOAD_ABORTED", `the upload of bucket ${id} ended early`, {
      cause: error,
    });
  }
  return error;
}

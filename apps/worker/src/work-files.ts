// What a worker keeps in its work folder: the job's code, unpacked once per digest after its check, and what a crash left.
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { WorkerJob } from "@tormr/protocol/worker-api";
import type { WorkerClient } from "@tormr/protocol/worker-client";
import { unpackBundle } from "@tormr/task-runner/code-bundle";

/** The job's code, unpacked once per digest; a bundle that does not match its digest is never used. */
export async function fetchCode(
  client: WorkerClient,
  job: WorkerJob,
  workDir: string,
): Promise<string> {
  const dir = join(workDir, `code-${job.codeDigest}`);
  const ready = `${dir}.verified`;
  if (
    await stat(ready).then(
      () => true,
      () => false,
    )
  )
    return dir;
  await rm(dir, { recursive: true, force: true });
  await rm(ready, { recursive: true, force: true });
  const tar = join(workDir, `code-${job.codeDigest}.tar`);
  await client.downloadCode(job, tar);
  try {
    await unpackBundle(tar, job.codeDigest, dir);
  } finally {
    await rm(tar, { force: true });
  }
  // Written last: a crash mid-unpack leaves no marker, so the next start unpacks again.
  await mkdir(ready);
  return dir;
}

/** Attempt folders and code bundles that a crashed run left behind. */
export async function removeLeftovers(workDir: string): Promise<void> {
  for (const name of await readdir(workDir)) {
    if (name.startsWith("attempt-") || /^code-[0-9a-f]{64}(\.tar)?$/.test(name)) {
      await rm(join(workDir, name), { recursive: true, force: true });
    }
  }
}

/** Bytes held under a folder (files only), for the disk quota. */
export async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isFile()) {
      total += await stat(join(entry.parentPath, entry.name)).then(
        (s) => s.size,
        () => 0,
      );
    }
  }
  return total;
}

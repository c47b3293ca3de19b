// The end of a job: on success the output parts are opened and decompressed into the output folder with `_PROVENANCE.json` and `_SUCCESS`; either way the intermediate buckets go.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { open } from "@tormr/crypto/bucket-seal";
import { unwrapKey, wrappedKeyFromString } from "@tormr/crypto/key-wrap";
import type { RawKeyPair } from "@tormr/crypto/keys";
import type { JobHostDb } from "@tormr/db/job-host";
import { Counters } from "@tormr/mapreduce/counters";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { partName } from "@tormr/mapreduce/task-env";
import { type BucketCodec, decompressStream } from "@tormr/protocol/bucket-codec";
import type { ProvenancePart } from "@tormr/protocol/provenance";
import type { BucketStore } from "../store/bucket-store.ts";
import { storedCompression } from "./job-compression.ts";
import { jobExposure } from "./job-exposure.ts";
import { jobProvenance, writeProvenance } from "./job-provenance.ts";

export type JobOutcome = { state: "succeeded" } | { state: "failed" | "cancelled"; error: string };

/**
 * Finishes a job. Success: each committed part is decrypted into `_temporary` and renamed to
 * `part-NNNNN`; then `_PROVENANCE.json` (each committed task's signed statement, and the SHA-256
 * of each part as written) and `_SUCCESS` last, so a crash midway is redone from the start (the
 * buckets are still there). Failure or cancel: the output folder is removed. Then every bucket of
 * the job is deleted and the job row gets its final state, counters and expiry.
 * A failure to write the output (a full disk) fails the job with that message instead.
 */
export async function finishJob(
  db: JobHostDb,
  store: BucketStore,
  host: RawKeyPair,
  job: { id: string; spec: string; maps: number; reduces: number },
  outcome: JobOutcome,
  retentionMs: number,
): Promise<JobOutcome> {
  const spec = JSON.parse(job.spec) as JobSpec;
  let final = outcome;
  let counters: string | null = null;
  if (outcome.state === "succeeded") {
    try {
      counters = await writeOutput(db, store, host, job, spec.output, storedCompression(spec));
    } catch (error) {
      final = {
        state: "failed",
        error: `writing the output to ${spec.output} failed: ${(error as Error).message}`,
      };
    }
  }
  if (final.state !== "succeeded") await rm(spec.output, { recursive: true, force: true });
  // The buckets' records and sizes are what exposure shares are measured against: keep them.
  const exposure = JSON.stringify(await jobExposure(db, job.id));
  await db.job.update({ where: { id: job.id }, data: { exposure } });
  await store.removeJobBuckets(job.id);
  await db.job.update({
    where: { id: job.id },
    data: {
      state: final.state,
      error: final.state === "succeeded" ? null : final.error,
      counters,
      finishedAt: new Date(),
      expiresAt: new Date(Date.now() + retentionMs),
    },
  });
  return final;
}

async function writeOutput(
  db: JobHostDb,
  store: BucketStore,
  host: RawKeyPair,
  job: { id: string; maps: number; reduces: number },
  output: string,
  compression: BucketCodec,
): Promise<string> {
  // Decoys (#8) are checks, not work: no part, no counters.
  const real = { OR: [{ checkKind: null }, { checkKind: { not: "decoy" } }] };
  const tasks = await db.task.findMany({
    where: { job: job.id, kind: job.reduces === 0 ? "map" : "reduce", ...real },
    orderBy: { index: "asc" },
  });
  const counters = new Counters();
  for (const task of await db.task.findMany({
    where: { job: job.id, ...real },
    select: { counters: true },
  })) {
    if (task.counters) counters.merge(JSON.parse(task.counters));
  }
  const staging = join(output, "_temporary");
  await mkdir(staging, { recursive: true });
  const parts: ProvenancePart[] = [];
  for (const [ordinal, task] of tasks.entries()) {
    // Parts are numbered over the real tasks: a map-only job's decoys leave no gap.
    const file = partName(ordinal);
    const final = join(output, file);
    const id = (JSON.parse(task.outputs ?? "[]") as string[])[0];
    const row = id
      ? await db.bucket.findUnique({
          where: { id },
          select: { key: true, plainSize: true, digest: true },
        })
      : null;
    if (!id || !row?.key) throw new Error(`${task.name} has no committed output bucket`);
    // The job host's link in the digest chain: the ciphertext its worker signed, the plaintext it wrote.
    const part = { file, task: task.name, bucket: id, ciphertextSha256: row.digest };
    if (
      await stat(final).then(
        () => true,
        () => false,
      )
    ) {
      // Written before a crash: its bytes are what they were, so they are hashed as they are.
      const tap = sha256Tap();
      await pipeline(createReadStream(final), tap.stream, discard());
      parts.push({ ...part, ...tap.result() });
      continue;
    }
    const key = unwrapKey(wrappedKeyFromString(row.key), id, host);
    const staged = join(staging, file);
    // The reducer declared the part's plaintext size: it bounds what decompressing it may write.
    const decompress = decompressStream(compression, {
      ...(row.plainSize === null ? {} : { plainBytes: Number(row.plainSize) }),
      label: `bucket ${id}`,
    });
    const tap = sha256Tap();
    await pipeline(
      store.readOwn(id),
      open(key, id),
      decompress,
      tap.stream,
      createWriteStream(staged, { mode: 0o644 }),
    );
    await rename(staged, final);
    parts.push({ ...part, ...tap.result() });
  }
  await rm(staging, { recursive: true, force: true });
  await writeProvenance(output, await jobProvenance(db, job, parts));
  await writeFile(join(output, "_SUCCESS"), "");
  return JSON.stringify(counters.toJSON());
}

/** A pass-through that hashes what goes through it: its SHA-256 (hex) and length once it ended. */
function sha256Tap() {
  const hash = createHash("sha256");
  let bytes = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      hash.update(chunk);
      bytes += chunk.length;
      next(null, chunk);
    },
    flush(next) {
      digest = hash.digest("hex");
      next();
    },
  });
  const result = () => {
    if (digest === undefined) throw new Error("the part was not read to its end");
    return { sha256: digest, bytes };
  };
  return { stream, result };
}

const discard = () => new Writable({ write: (_chunk, _encoding, next) => next() });

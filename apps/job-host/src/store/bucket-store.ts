// The keyed bucket store: sealed bytes on disk, metadata and the exposure ledger in SQLite, access by grant.
import { Transform } from "node:stream";
import { checkRead, checkWrite, type GrantClaims, verifyGrant } from "@tormr/crypto/grant";
import type { RawKeyPair } from "@tormr/crypto/keys";
import { ReplayCache, verifyRequest } from "@tormr/crypto/request-proof";
import type { JobHostDb } from "@tormr/db/job-host";
import type { BucketInfo } from "@tormr/protocol/store-api";
import { BucketFiles } from "./bucket-files.ts";
import { StoreError } from "./store-error.ts";

export interface BucketStoreOptions {
  /** The folder that holds the sealed bytes. */
  root: string;
  db: JobHostDb;
  /** The job host's grant-signing key: the store checks grants against its public half. */
  hostKey: RawKeyPair;
  /** The `iss` of the job host's grants. */
  issuer: string;
  /** The most one job's buckets may hold on this store, in bytes. Default: no bound but the disk. */
  jobQuotaBytes?: number;
  /** How old a request's proof-of-possession may be. Default 60 s. */
  proofWindowSeconds?: number;
}

/** What a request brings to be authorized: its method and path, and two headers. */
export interface RequestCredentials {
  method: string;
  /** The request target as sent (path and query), which the proof signs. */
  path: string;
  grant: string | undefined;
  proof: string | undefined;
}

/** Who is writing a bucket, recorded in its metadata. */
export interface Writer {
  pseudonym: string;
  task: string;
  attempt: number;
}

export class BucketStore {
  /** Revoked grant ids: a cache of the `Revocation` table, consulted on every request. */
  private readonly revoked = new Set<string>();
  /** `job/task` → the attempt whose output was committed: a cache of the `Commit` table. */
  private readonly commits = new Map<string, number>();
  /** Bytes uploaded so far under each grant, so that `maxBytes` bounds the grant, not each bucket. */
  private readonly uploaded = new Map<string, number>();
  private readonly replays = new ReplayCache();
  /** Bytes stored per job, for the quota: loaded from the database on first use. */
  private readonly usage = new Map<string, number>();
  /** The last write refused for lack of space (disk full or quota), per job. */
  private readonly refusals = new Map<string, StoreError>();
  /** Ledger rows still being written: `settled()` waits for them. */
  private readonly ledgerWrites = new Set<Promise<void>>();

  private constructor(
    private readonly options: BucketStoreOptions,
    readonly files: BucketFiles,
  ) {}

  static async open(options: BucketStoreOptions): Promise<BucketStore> {
    const store = new BucketStore(options, await BucketFiles.open(options.root));
    const { db } = options;
    await db.revocation.deleteMany({ where: { expiresAt: { lt: new Date() } } });
    for (const { jti } of await db.revocation.findMany({ select: { jti: true } })) {
      store.revoked.add(jti);
    }
    for (const c of await db.commit.findMany({
      select: { job: true, task: true, attempt: true },
    })) {
      store.commits.set(`${c.job}/${c.task}`, c.attempt);
    }
    return store;
  }

  /**
   * Checks a request's grant, its proof of possession and the grant's scope for `op` on `bucketId`.
   * @throws GrantError (401 or 403), or StoreError `ERR_BAD_BUCKET_ID` (400).
   */
  async authorize(
    credentials: RequestCredentials,
    bucketId: string,
    op: "read" | "write",
  ): Promise<GrantClaims> {
    this.files.pathOf(bucketId);
    const claims = await verifyGrant(credentials.grant, this.options.hostKey.publicKey, {
      issuer: this.options.issuer,
      job: jobOf(bucketId),
      isRevoked: (jti) => this.revoked.has(jti),
    });
    await verifyRequest(
      credentials.proof,
      { method: credentials.method, path: credentials.path, grant: claims },
      { replayCache: this.replays, windowSeconds: this.options.proofWindowSeconds ?? 60 },
    );
    if (op === "read") {
      checkRead(claims, bucketId, (job, map, attempt) => this.isCommitted(job, `m${map}`, attempt));
    } else {
      checkWrite(claims, bucketId);
    }
    return claims;
  }

  /** Refuses a write early, before any byte is sent: the bucket exists, or it cannot fit the grant. */
  async checkWritable(claims: GrantClaims, bucketId: string, length?: number): Promise<void> {
    if (await this.exists(bucketId)) {
      throw new StoreError("ERR_BUCKET_EXISTS", `bucket ${bucketId} already exists`);
    }
    if (length !== undefined) await this.checkQuota(jobOf(bucketId), bucketId, length);
    const left = claims.maxBytes - (this.uploaded.get(claims.jti) ?? 0);
    if (length !== undefined && length > left) {
      throw new StoreError(
        "ERR_TOO_LARGE",
        `bucket ${bucketId} (${length} bytes) is over what the grant has left (${left} of ${claims.maxBytes} bytes)`,
      );
    }
  }

  /** Streams a bucket in under a grant. The bytes count against the grant's `maxBytes` as they arrive. */
  async write(
    claims: GrantClaims,
    bucketId: string,
    body: AsyncIterable<Uint8Array>,
    records: number,
  ): Promise<BucketInfo> {
    await this.checkWritable(claims, bucketId);
    const { jti, maxBytes } = claims;
    const uploaded = this.uploaded;
    let size = 0;
    // Counted against the grant as the bytes arrive, so that uploads running side by side under
    // one grant share its budget instead of each having all of it.
    const metered = (async function* () {
      for await (const chunk of body) {
        size += chunk.length;
        const total = (uploaded.get(jti) ?? 0) + chunk.length;
        uploaded.set(jti, total);
        if (total > maxBytes) {
          throw new StoreError(
            "ERR_TOO_LARGE",
            `bucket ${bucketId} goes over the grant's limit of ${maxBytes} bytes`,
          );
        }
        yield chunk;
      }
    })();
    try {
      return await this.put(bucketId, metered, maxBytes, {
        pseudonym: claims.aud,
        task: claims.task,
        attempt: claims.attempt,
        records,
      });
    } catch (error) {
      // A failed upload gives its bytes back, so the attempt can try again under the same grant.
      uploaded.set(jti, (uploaded.get(jti) ?? 0) - size);
      throw error;
    }
  }

  /** Stores a bucket without a grant: the job host's own writes (the split buckets). */
  async put(
    bucketId: string,
    body: AsyncIterable<Uint8Array>,
    maxBytes: number,
    writer: Writer & { records: number | (() => number) },
  ): Promise<BucketInfo> {
    const job = jobOf(bucketId);
    const used = await this.used(job);
    const quota = this.options.jobQuotaBytes;
    let size = 0;
    const store = this;
    const counted = (async function* () {
      for await (const chunk of body) {
        size += chunk.length;
        if (quota !== undefined && used + size > quota) throw store.quotaError(job, bucketId);
        yield chunk;
      }
    })();
    let written: Awaited<ReturnType<BucketFiles["write"]>>;
    try {
      written = await this.files.write(bucketId, counted, maxBytes);
    } catch (error) {
      if (error instanceof StoreError && error.code === "ERR_DISK_FULL")
        this.refusals.set(job, error);
      throw error;
    }
    this.usage.set(job, (this.usage.get(job) ?? used) + written.size);
    const records = typeof writer.records === "number" ? writer.records : writer.records();
    try {
      await this.options.db.bucket.create({
        data: {
          id: bucketId,
          job: jobOf(bucketId),
          size: BigInt(written.size),
          records,
          digest: written.digest,
          writer: writer.pseudonym,
          task: writer.task,
          attempt: writer.attempt,
        },
      });
    } catch (error) {
      await this.files.remove(bucketId);
      throw error;
    }
    return { id: bucketId, size: written.size, records, digest: written.digest };
  }

  async info(bucketId: string): Promise<BucketInfo | undefined> {
    this.files.pathOf(bucketId);
    const row = await this.options.db.bucket.findUnique({
      where: { id: bucketId },
      select: { id: true, size: true, records: true, digest: true },
    });
    return row ? { ...row, size: Number(row.size) } : undefined;
  }

  private async exists(bucketId: string): Promise<boolean> {
    return (await this.info(bucketId)) !== undefined || (await this.files.exists(bucketId));
  }

  /**
   * Streams bytes `start`..`end` (inclusive) of a bucket to a grant holder, and records the read in the
   * exposure ledger when the stream ends, with the bytes actually served. A ranged read counts its
   * share of the bucket's records, so the parts of a resumed download add up to the whole.
   */
  read(claims: GrantClaims, info: BucketInfo, start: number, end: number) {
    let served = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        served += chunk.length;
        done(null, chunk);
      },
    });
    const source = this.files.read(info.id, start, end);
    source.on("error", (error) => counter.destroy(error));
    counter.on("close", () => {
      const write = this.options.db.exposure
        .create({
          data: {
            job: jobOf(info.id),
            pseudonym: claims.aud,
            bucket: info.id,
            bytes: BigInt(served),
            records:
              info.size === 0 ? info.records : Math.round((info.records * served) / info.size),
          },
        })
        .then(
          () => undefined,
          (error: unknown) => console.error(`store: exposure ledger write failed: ${error}`),
        )
        .finally(() => this.ledgerWrites.delete(write));
      this.ledgerWrites.add(write);
    });
    return source.pipe(counter);
  }

  /** Resolves when every read served so far is in the exposure ledger (before closing the database). */
  async settled(): Promise<void> {
    while (this.ledgerWrites.size > 0) await Promise.all([...this.ledgerWrites]);
  }

  /** The job host's own read of a bucket (to decrypt output): no grant, no ledger entry. */
  readOwn(bucketId: string) {
    return this.files.read(bucketId, 0, Number.MAX_SAFE_INTEGER);
  }

  /**
   * Records that `attempt` won `task`. The first commit wins: a later one (a speculative attempt that
   * finished second) gets the winner back and must discard its output.
   */
  async commit(job: string, task: string, attempt: number): Promise<number> {
    const key = `${job}/${task}`;
    const known = this.commits.get(key);
    if (known !== undefined) return known;
    const row = await this.options.db.commit.upsert({
      where: { job_task: { job, task } },
      create: { job, task, attempt },
      update: {},
      select: { attempt: true },
    });
    this.commits.set(key, row.attempt);
    return row.attempt;
  }

  /** Forgets a task's commit (its result was undone): its next commit wins afresh. */
  async uncommit(job: string, task: string): Promise<void> {
    this.commits.delete(`${job}/${task}`);
    await this.options.db.commit.deleteMany({ where: { job, task } });
  }

  private async used(job: string): Promise<number> {
    const known = this.usage.get(job);
    if (known !== undefined) return known;
    const sum = await this.options.db.bucket.aggregate({ where: { job }, _sum: { size: true } });
    const bytes = Number(sum._sum.size ?? 0n);
    this.usage.set(job, bytes);
    return bytes;
  }

  private quotaError(job: string, bucketId: string): StoreError {
    const quota = this.options.jobQuotaBytes ?? 0;
    const error = new StoreError(
      "ERR_QUOTA",
      `job ${job} is over its disk quota on this job host (${quota} bytes); bucket ${bucketId} was not kept`,
    );
    this.refusals.set(job, error);
    return error;
  }

  private async checkQuota(job: string, bucketId: string, length: number): Promise<void> {
    const quota = this.options.jobQuotaBytes;
    if (quota !== undefined && (await this.used(job)) + length > quota) {
      throw this.quotaError(job, bucketId);
    }
  }

  /**
   * Why the store last refused one of this job's writes for lack of space (a full disk or the
   * quota), if it did: the master fails the job on its own store's word, never on a worker's.
   */
  spaceRefusal(job: string): StoreError | undefined {
    return this.refusals.get(job);
  }

  /** Deletes one bucket: its row, then its file. */
  async removeBucket(id: string): Promise<void> {
    const row = await this.options.db.bucket.findUnique({
      where: { id },
      select: { job: true, size: true },
    });
    if (row && this.usage.has(row.job)) {
      this.usage.set(row.job, (this.usage.get(row.job) ?? 0) - Number(row.size));
    }
    await this.options.db.bucket.deleteMany({ where: { id } });
    await this.files.remove(id);
  }

  /**
   * Deletes a job's buckets, except those in `keep`: the database row first, so that a crash in
   * between leaves an unreferenced file (harmless, overwritten or swept), never a row without bytes.
   */
  async removeJobBuckets(job: string, keep: ReadonlySet<string> = new Set()): Promise<number> {
    const rows = await this.options.db.bucket.findMany({ where: { job }, select: { id: true } });
    let removed = 0;
    for (const { id } of rows) {
      if (keep.has(id)) continue;
      await this.removeBucket(id);
      removed++;
    }
    return removed;
  }

  isCommitted(job: string, task: string, attempt: number): boolean {
    return this.commits.get(`${job}/${task}`) === attempt;
  }

  /** Revokes a grant before it expires: every later request with it gets `ERR_GRANT_REVOKED`. */
  async revoke(claims: Pick<GrantClaims, "jti" | "job" | "exp">, reason: string): Promise<void> {
    this.revoked.add(claims.jti);
    this.uploaded.delete(claims.jti);
    await this.options.db.revocation.upsert({
      where: { jti: claims.jti },
      create: { jti: claims.jti, job: claims.job, reason, expiresAt: new Date(claims.exp * 1000) },
      update: {},
    });
  }
}

/** The job a bucket id belongs to: ids read `j/<job>/...`. */
export function jobOf(bucketId: string): string {
  const [root, job] = bucketId.split("/");
  if (root !== "j" || !job) {
    throw new StoreError("ERR_BAD_BUCKET_ID", `bucket id ${bucketId} does not start with j/<job>/`);
  }
  return job;
}

// The master's side of a sealed job: it seals the splits into the store, issues a grant and wrapped keys
// per attempt, commits the winners, revokes finished grants, and decrypts the output on its own side.
// Buckets are compressed under their seals with the job's codec, as on a job host.
import { createWriteStream } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { splitBucketId } from "@tormr/crypto/bucket-id";
import { open } from "@tormr/crypto/bucket-seal";
import { generateKeyPair, pseudonymOf, type RawKeyPair } from "@tormr/crypto/keys";
import { type JobHostDb, openJobHostDb } from "@tormr/db/job-host";
import type { Split } from "@tormr/mapreduce/splits";
import { type BucketCodec, decompressStream } from "@tormr/protocol/bucket-codec";
import type { SealedOutput, WorkerKeys } from "@tormr/protocol/task-exchange";
import { putSealedSegment } from "../master/job-setup.ts";
import {
  checkOutputs,
  type GrantAuthority,
  type HeldBucket,
  type IssuedTask,
  issueTask,
  mapScope,
  reduceScope,
} from "../master/task-grants.ts";
import { BucketStore } from "../store/bucket-store.ts";
import { createStoreServer } from "../store/http-server.ts";

export class SealedExchange {
  /** The key and plaintext size of every committed or split bucket, held by the job host alone. */
  private readonly held = new Map<string, HeldBucket>();
  private readonly splitIds = new Map<number, string[]>();
  /** The id of partition p of each committed map: `mapOutputs[map][p]`. */
  private readonly mapOutputs = new Map<number, string[]>();

  /** The job host's X25519 key: workers wrap their output keys to it. */
  private readonly wrapping = generateKeyPair("X25519");

  private constructor(
    private readonly jobId: string,
    private readonly compression: BucketCodec,
    private readonly store: BucketStore,
    private readonly db: JobHostDb,
    private readonly server: Server,
    /** The grant-signing key and the `iss` of its grants. */
    private readonly signer: RawKeyPair,
    private readonly issuer: string,
    readonly storeUrl: string,
  ) {}

  /**
   * Opens a store under `folder` (its database and buckets) and serves it on loopback. Every
   * bucket of the job is compressed with `compression` before it is sealed.
   */
  static async start(
    jobId: string,
    folder: string,
    compression: BucketCodec,
  ): Promise<SealedExchange> {
    const db = await openJobHostDb(join(folder, "job-host.db"));
    try {
      const signer = generateKeyPair("Ed25519");
      const issuer = `local-${pseudonymOf(signer.publicKey).slice(0, 16)}`;
      const root = join(folder, "buckets");
      const store = await BucketStore.open({ root, db, hostKey: signer, issuer });
      const server = createStoreServer(store);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as AddressInfo;
      const url = `http://127.0.0.1:${port}`;
      return new SealedExchange(jobId, compression, store, db, server, signer, issuer, url);
    } catch (error) {
      await db.$disconnect();
      throw error;
    }
  }

  /** Seals each segment of `split` (whole lines, as a mapper reads them) under a fresh key. */
  async sealSplit(split: Split): Promise<void> {
    const ids: string[] = [];
    for (const [index, segment] of split.segments.entries()) {
      const id = splitBucketId(this.jobId, split.index, index);
      const { key, plainBytes } = await putSealedSegment(
        this.store,
        id,
        segment,
        this.issuer,
        split.index,
        this.compression,
      );
      this.held.set(id, { key, plainBytes });
      ids.push(id);
    }
    this.splitIds.set(split.index, ids);
  }

  private get authority(): GrantAuthority {
    return {
      signer: this.signer,
      issuer: this.issuer,
      wrapping: this.wrapping,
      storeUrl: this.storeUrl,
    };
  }

  private heldOf(id: string): HeldBucket {
    const held = this.held.get(id);
    if (!held) throw new Error(`no key held for bucket ${id}`);
    return held;
  }

  private get job() {
    return { id: this.jobId, compression: this.compression };
  }

  mapTask(map: number, attempt: number, partitions: number, worker: WorkerKeys) {
    const scope = mapScope(this.jobId, map, attempt, partitions, this.splitIds.get(map) ?? []);
    return issueTask(this.authority, this.job, worker, attempt, scope, (id) => this.heldOf(id));
  }

  reduceTask(partition: number, attempt: number, maps: number, worker: WorkerKeys) {
    const inputs = Array.from({ length: maps }, (_, map) => {
      const id = this.mapOutputs.get(map)?.[partition];
      if (!id) throw new Error(`map ${map} has no committed output`);
      return id;
    });
    const scope = reduceScope(this.jobId, partition, attempt, inputs);
    return issueTask(this.authority, this.job, worker, attempt, scope, (id) => this.heldOf(id));
  }

  /**
   * Checks an attempt's reported outputs (see `checkOutputs`), then records that it won its task
   * and takes its output keys. An attempt that lost (a later commit of the same task) gets `false`,
   * and its outputs are ignored.
   * @throws BadResult when the report does not hold up: the attempt failed, the task is not committed.
   */
  async commit(issued: IssuedTask, outputs: SealedOutput[]): Promise<boolean> {
    const { task, attempt } = issued;
    const expected = issued.exchange.outputIds;
    const keys = await checkOutputs(this.store, this.wrapping, task, expected, outputs);
    const winner = await this.store.commit(this.jobId, task, attempt);
    if (winner !== attempt) return false;
    for (const [id, held] of keys) this.held.set(id, held);
    if (task.startsWith("m")) this.mapOutputs.set(Number(task.slice(1)), expected);
    return true;
  }

  /** Ends an attempt's grant (finished, failed or cancelled): nothing more can be done with it. */
  async revoke(issued: IssuedTask, reason: string): Promise<void> {
    await this.store.revoke(issued.claims, reason);
  }

  /** Opens and decompresses a committed output bucket on the job host's side into `path`. */
  async decryptTo(id: string, path: string): Promise<void> {
    const { key, plainBytes } = this.heldOf(id);
    await pipeline(
      this.store.readOwn(id),
      open(key, id),
      decompressStream(this.compression, {
        ...(plainBytes !== undefined ? { plainBytes } : {}),
        label: `bucket ${id}`,
      }),
      createWriteStream(path, { mode: 0o644 }),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
    await this.store.settled();
    await this.db.$disconnect();
  }
}

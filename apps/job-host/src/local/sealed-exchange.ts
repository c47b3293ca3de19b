// The master's side of a sealed job: it seals the splits into the store, issues a grant and wrapped keys
// per attempt, commits the winners, revokes finished grants, and decrypts the output on its own side.
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  mapOnlyOutputId,
  mapOutputId,
  mapOutputPrefix,
  reduceOutputId,
  reduceOutputPrefix,
  splitBucketId,
} from "@tormr/crypto/bucket-id";
import { newBucketKey, open, seal } from "@tormr/crypto/bucket-seal";
import { type GrantClaims, issueGrant } from "@tormr/crypto/grant";
import {
  unwrapKey,
  wrapKey,
  wrappedKeyFromString,
  wrappedKeyToString,
} from "@tormr/crypto/key-wrap";
import { generateKeyPair, pseudonymOf, type RawKeyPair } from "@tormr/crypto/keys";
import { type JobHostDb, openJobHostDb } from "@tormr/db/job-host";
import { countLines } from "@tormr/mapreduce/byte-string";
import { readSegment } from "@tormr/mapreduce/input-reader";
import type { Split } from "@tormr/mapreduce/splits";
import type { SealedOutput, TaskExchange, WorkerKeys } from "@tormr/protocol/task-exchange";
import { through } from "@tormr/task-runner/through";
import { BucketStore } from "../store/bucket-store.ts";
import { createStoreServer } from "../store/http-server.ts";

/** How long a grant lives. A task attempt must finish its uploads within it. */
const GRANT_TTL_SECONDS = 3600;
/** What one attempt may upload in all: a bound on a runaway task, not a quota. */
const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;

/** An attempt's grant, remembered so that it can be revoked when the attempt ends. */
export interface IssuedTask {
  task: string;
  attempt: number;
  exchange: TaskExchange;
  claims: Pick<GrantClaims, "jti" | "job" | "exp">;
}

/** A worker's report of its outputs that does not match what the store holds. */
export class BadResult extends Error {
  override readonly name = "BadResult";
}

export class SealedExchange {
  /** The key of every committed or split bucket, held by the job host alone. */
  private readonly keys = new Map<string, Buffer>();
  private readonly splitIds = new Map<number, string[]>();
  /** The id of partition p of each committed map: `mapOutputs[map][p]`. */
  private readonly mapOutputs = new Map<number, string[]>();

  /** The job host's X25519 key: workers wrap their output keys to it. */
  private readonly wrapping = generateKeyPair("X25519");

  private constructor(
    private readonly jobId: string,
    private readonly store: BucketStore,
    private readonly db: JobHostDb,
    private readonly server: Server,
    /** The grant-signing key and the `iss` of its grants. */
    private readonly signer: RawKeyPair,
    private readonly issuer: string,
    readonly storeUrl: string,
  ) {}

  /** Opens a store under `folder` (its database and buckets) and serves it on loopback. */
  static async start(jobId: string, folder: string): Promise<SealedExchange> {
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
      return new SealedExchange(jobId, store, db, server, signer, issuer, url);
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
      const key = newBucketKey();
      let records = 0;
      const counted = async function* () {
        for await (const chunk of readSegment(segment)) {
          records += countLines(chunk);
          yield chunk;
        }
      };
      const sealed = through(Readable.from(counted(), { objectMode: false }), seal(key, id));
      await this.store.put(id, sealed, Number.MAX_SAFE_INTEGER, {
        pseudonym: this.issuer,
        task: `m${split.index}`,
        attempt: 0,
        // Read once the bytes are all in: the count is only known then.
        records: () => records,
      });
      this.keys.set(id, key);
      ids.push(id);
    }
    this.splitIds.set(split.index, ids);
  }

  private async issue(
    worker: WorkerKeys,
    task: string,
    attempt: number,
    scope: Pick<GrantClaims, "read" | "write">,
    inputs: string[],
    outputIds: string[],
  ): Promise<IssuedTask> {
    const jti = randomBytes(16).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const grant = await issueGrant(
      this.signer,
      {
        iss: this.issuer,
        aud: pseudonymOf(Buffer.from(worker.signing, "base64url")),
        job: this.jobId,
        task,
        attempt,
        ...scope,
        maxBytes: DEFAULT_MAX_BYTES,
        jti,
      },
      { ttlSeconds: GRANT_TTL_SECONDS, now },
    );
    const recipient = Buffer.from(worker.wrapping, "base64url");
    return {
      task,
      attempt,
      exchange: {
        storeUrl: this.storeUrl,
        grant,
        inputs: inputs.map((id) => ({
          id,
          key: wrappedKeyToString(wrapKey(this.keyOf(id), id, recipient)),
        })),
        outputIds,
        hostWrappingKey: this.wrapping.publicKey.toString("base64url"),
      },
      claims: { jti, job: this.jobId, exp: now + GRANT_TTL_SECONDS },
    };
  }

  private keyOf(id: string): Buffer {
    const key = this.keys.get(id);
    if (!key) throw new Error(`no key held for bucket ${id}`);
    return key;
  }

  /** A map attempt may read exactly its split's buckets, and write only under its own attempt. */
  mapTask(map: number, attempt: number, partitions: number, worker: WorkerKeys) {
    const inputs = this.splitIds.get(map) ?? [];
    const outputIds =
      partitions === 0
        ? [mapOnlyOutputId(this.jobId, map, attempt)]
        : Array.from({ length: partitions }, (_, p) => mapOutputId(this.jobId, map, attempt, p));
    return this.issue(
      worker,
      `m${map}`,
      attempt,
      {
        read: inputs.map((id) => ({ kind: "bucket" as const, id })),
        write: [mapOutputPrefix(this.jobId, map, attempt)],
      },
      inputs,
      outputIds,
    );
  }

  /** A reduce attempt may read partition r of every committed map output, and write its own part. */
  reduceTask(partition: number, attempt: number, maps: number, worker: WorkerKeys) {
    const inputs = Array.from({ length: maps }, (_, map) => {
      const id = this.mapOutputs.get(map)?.[partition];
      if (!id) throw new Error(`map ${map} has no committed output`);
      return id;
    });
    return this.issue(
      worker,
      `r${partition}`,
      attempt,
      {
        read: [{ kind: "map-partition", job: this.jobId, partition }],
        write: [reduceOutputPrefix(this.jobId, partition, attempt)],
      },
      inputs,
      [reduceOutputId(this.jobId, partition, attempt)],
    );
  }

  /**
   * Checks an attempt's reported outputs, then records that it won its task and takes its output
   * keys. Every output must be the bucket its grant named, stored with the digest the worker
   * reported, under a key wrapped to the job host. An attempt that lost (a later commit of the same
   * task) gets `false`, and its outputs are ignored.
   * @throws BadResult when the report does not hold up: the attempt failed, the task is not committed.
   */
  async commit(issued: IssuedTask, outputs: SealedOutput[]): Promise<boolean> {
    const { task, attempt } = issued;
    const expected = issued.exchange.outputIds;
    const got = outputs.map((o) => o.id);
    if (got.length !== expected.length || got.some((id, i) => id !== expected[i])) {
      throw new BadResult(
        `${task} reported outputs [${got.join(", ")}], not [${expected.join(", ")}]`,
      );
    }
    const keys = new Map<string, Buffer>();
    for (const output of outputs) {
      const stored = await this.store.info(output.id);
      if (!stored) throw new BadResult(`${task} reported bucket ${output.id}, which is not stored`);
      if (stored.digest !== output.digest) {
        throw new BadResult(
          `${task} reported a digest for ${output.id} that the store does not have`,
        );
      }
      try {
        keys.set(output.id, unwrapKey(wrappedKeyFromString(output.key), output.id, this.wrapping));
      } catch {
        throw new BadResult(`${task} sent a key for ${output.id} that does not unwrap`);
      }
    }
    const winner = await this.store.commit(this.jobId, task, attempt);
    if (winner !== attempt) return false;
    for (const [id, key] of keys) this.keys.set(id, key);
    if (task.startsWith("m")) this.mapOutputs.set(Number(task.slice(1)), got);
    return true;
  }

  /** Ends an attempt's grant (finished, failed or cancelled): nothing more can be done with it. */
  async revoke(issued: IssuedTask, reason: string): Promise<void> {
    await this.store.revoke(issued.claims, reason);
  }

  /** Opens a committed output bucket on the job host's side into `path`. */
  async decryptTo(id: string, path: string): Promise<void> {
    await pipeline(
      this.store.readOwn(id),
      open(this.keyOf(id), id),
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

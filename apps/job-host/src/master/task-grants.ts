// What an attempt is handed (a grant, its input keys wrapped to the worker) and how its reported outputs are checked.
import { randomBytes } from "node:crypto";
import {
  mapOnlyOutputId,
  mapOutputId,
  mapOutputPrefix,
  reduceOutputId,
  reduceOutputPrefix,
} from "@tormr/crypto/bucket-id";
import { type GrantClaims, issueGrant } from "@tormr/crypto/grant";
import {
  unwrapKey,
  wrapKey,
  wrappedKeyFromString,
  wrappedKeyToString,
} from "@tormr/crypto/key-wrap";
import { pseudonymOf, type RawKeyPair } from "@tormr/crypto/keys";
import type { BucketCodec } from "@tormr/protocol/bucket-codec";
import type { SealedOutput, TaskExchange, WorkerKeys } from "@tormr/protocol/task-exchange";
import type { BucketStore } from "../store/bucket-store.ts";

/** How long a grant lives. A task attempt must finish its uploads within it. */
export const GRANT_TTL_SECONDS = 3600;
/** What one attempt may upload in all: a bound on a runaway task, not a quota. */
const DEFAULT_MAX_BYTES = 64 * 1024 ** 3;

/** The job host's side of every grant: who signs, who unwraps outputs, where the store is. */
export interface GrantAuthority {
  signer: RawKeyPair;
  issuer: string;
  /** The job host's X25519 key: workers wrap their output keys to it. */
  wrapping: RawKeyPair;
  storeUrl: string;
}

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

/** An attempt's scope: what it may read and write, its input buckets and its output ids. */
export interface TaskScope extends Pick<GrantClaims, "read" | "write"> {
  task: string;
  inputs: string[];
  outputIds: string[];
}

/** A map attempt reads exactly its split's buckets and writes only under its own attempt. */
export function mapScope(
  job: string,
  map: number,
  attempt: number,
  partitions: number,
  splitIds: string[],
): TaskScope {
  return {
    task: `m${map}`,
    read: splitIds.map((id) => ({ kind: "bucket" as const, id })),
    write: [mapOutputPrefix(job, map, attempt)],
    inputs: splitIds,
    outputIds:
      partitions === 0
        ? [mapOnlyOutputId(job, map, attempt)]
        : Array.from({ length: partitions }, (_, p) => mapOutputId(job, map, attempt, p)),
  };
}

/** A reduce attempt reads partition r of every committed map output, and writes its own part. */
export function reduceScope(
  job: string,
  partition: number,
  attempt: number,
  mapOutputIds: string[],
): TaskScope {
  return {
    task: `r${partition}`,
    read: [{ kind: "map-partition", job, partition }],
    write: [reduceOutputPrefix(job, partition, attempt)],
    inputs: mapOutputIds,
    outputIds: [reduceOutputId(job, partition, attempt)],
  };
}

/** What the job host holds of a bucket a task reads: its key, and its plaintext bytes if on record. */
export interface HeldBucket {
  key: Buffer;
  plainBytes?: number | undefined;
}

/** The job an attempt belongs to, and how its buckets are compressed. */
export interface TaskJob {
  id: string;
  compression: BucketCodec;
}

/**
 * Signs the attempt's grant and wraps each input key to the worker. The exchange names the job's
 * codec and each input's plaintext bytes, which bound what the worker's decompression may give.
 */
export async function issueTask(
  authority: GrantAuthority,
  { id: job, compression }: TaskJob,
  worker: WorkerKeys,
  attempt: number,
  scope: TaskScope,
  held: (id: string) => HeldBucket,
): Promise<IssuedTask> {
  const jti = randomBytes(16).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const grant = await issueGrant(
    authority.signer,
    {
      iss: authority.issuer,
      aud: pseudonymOf(Buffer.from(worker.signing, "base64url")),
      job,
      task: scope.task,
      attempt,
      read: scope.read,
      write: scope.write,
      maxBytes: DEFAULT_MAX_BYTES,
      jti,
    },
    { ttlSeconds: GRANT_TTL_SECONDS, now },
  );
  const recipient = Buffer.from(worker.wrapping, "base64url");
  return {
    task: scope.task,
    attempt,
    exchange: {
      storeUrl: authority.storeUrl,
      grant,
      inputs: scope.inputs.map((id) => {
        const { key, plainBytes } = held(id);
        return {
          id,
          key: wrappedKeyToString(wrapKey(key, id, recipient)),
          ...(plainBytes !== undefined ? { bytes: plainBytes } : {}),
        };
      }),
      outputIds: scope.outputIds,
      hostWrappingKey: authority.wrapping.publicKey.toString("base64url"),
      compression,
    },
    claims: { jti, job, exp: now + GRANT_TTL_SECONDS },
  };
}

/**
 * Checks an attempt's reported outputs and returns their keys, with the plaintext bytes the worker
 * declared (the bound on what opening each may give): every output must be the bucket its grant
 * named, stored with the digest the worker reported, under a key wrapped to the job host.
 * @throws BadResult naming what does not hold up.
 */
export async function checkOutputs(
  store: BucketStore,
  wrapping: RawKeyPair,
  task: string,
  expected: string[],
  outputs: SealedOutput[],
): Promise<Map<string, HeldBucket>> {
  const got = outputs.map((o) => o.id);
  if (got.length !== expected.length || got.some((id, i) => id !== expected[i])) {
    throw new BadResult(
      `${task} reported outputs [${got.join(", ")}], not [${expected.join(", ")}]`,
    );
  }
  const keys = new Map<string, HeldBucket>();
  for (const output of outputs) {
    const stored = await store.info(output.id);
    if (!stored) throw new BadResult(`${task} reported bucket ${output.id}, which is not stored`);
    if (stored.digest !== output.digest) {
      throw new BadResult(
        `${task} reported a digest for ${output.id} that the store does not have`,
      );
    }
    try {
      const key = unwrapKey(wrappedKeyFromString(output.key), output.id, wrapping);
      keys.set(output.id, { key, plainBytes: output.bytes });
    } catch {
      throw new BadResult(`${task} sent a key for ${output.id} that does not unwrap`);
    }
  }
  return keys;
}

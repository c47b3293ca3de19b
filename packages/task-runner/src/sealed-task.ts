// A worker's side of a sealed task: fetch, open, unpad and decompress its input buckets, run the engine, and store its outputs.
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import type { Agent } from "node:http";
import { join } from "node:path";
import { type Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { open } from "@tormr/crypto/bucket-seal";
import { unwrapKey, wrappedKeyFromString } from "@tormr/crypto/key-wrap";
import type { RawKeyPair } from "@tormr/crypto/keys";
import { Counters } from "@tormr/mapreduce/counters";
import { jobSettings } from "@tormr/mapreduce/job-spec";
import { type MapTaskOptions, type MapTaskResult, runMapTask } from "@tormr/mapreduce/map-task";
import {
  type ReduceTaskOptions,
  type ReduceTaskResult,
  runReduceTask,
} from "@tormr/mapreduce/reduce-task";
import type { RunSegment } from "@tormr/mapreduce/run-reader";
import { decompressStream } from "@tormr/protocol/bucket-codec";
import { unpadStream } from "@tormr/protocol/bucket-padding";
import { type ByteMeter, StoreClient } from "@tormr/protocol/store-client";
import type { BucketInput, SealedOutput, TaskExchange } from "@tormr/protocol/task-exchange";
import type { ReadBucket } from "@tormr/protocol/worker-api";
import { codecOf, SHUFFLE_PADDING_BYTES, storeOutputs, TORMR_GROUP } from "./sealed-output.ts";
import { through } from "./through.ts";

/** The worker's own keys: Ed25519 signs its store requests, X25519 unwraps the keys it is given. */
export interface WorkerIdentity {
  signing: RawKeyPair;
  wrapping: RawKeyPair;
}

/** Partitions fetched at once by a reduce: enough to hide a circuit's latency, few enough to be fair. */
const PARALLEL_DOWNLOADS = 4;

/** How a worker reaches the store: its transport (a SOCKS agent for Tor) and a byte meter. */
export interface StoreAccess {
  agent?: Agent;
  meter?: ByteMeter;
}

function clientFor(
  exchange: TaskExchange,
  identity: WorkerIdentity,
  access: StoreAccess,
): StoreClient {
  return new StoreClient({
    baseUrl: exchange.storeUrl,
    identity: identity.signing,
    ...(access.agent ? { agent: access.agent } : {}),
    ...(access.meter ? { meter: access.meter } : {}),
  });
}

/** The SHA-256 of each input's ciphertext, by bucket id, as the task downloaded it. */
type ReadDigests = Map<string, string>;

/** Passes bytes through unchanged and, once they have all passed, gives their SHA-256 (hex). */
function sha256Tap(done: (digest: string) => void): Transform {
  const hash = createHash("sha256");
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      hash.update(chunk);
      next(null, chunk);
    },
    flush(next) {
      done(hash.digest("hex"));
      next();
    },
  });
}

/**
 * A bucket's plaintext, opened, unpadded (a map-output partition of a job that pads its shuffle)
 * and decompressed as it downloads. A tampered bucket fails the stream, and so does one that
 * opens to another length than the job host has on record, or, when `padded`, one whose padding
 * frame does not hold up. The ciphertext's SHA-256 lands in `read` once all of it has passed:
 * what the worker signs it read.
 */
function openedDownload(
  client: StoreClient,
  exchange: TaskExchange,
  input: BucketInput,
  identity: WorkerIdentity,
  read: ReadDigests,
  padded = false,
): Readable {
  const key = unwrapKey(wrappedKeyFromString(input.key), input.id, identity.wrapping);
  const sealed = through(
    client.download(exchange.grant, input.id),
    sha256Tap((digest) => read.set(input.id, digest)),
  );
  const opened = through(sealed, open(key, input.id));
  const body = padded ? through(opened, unpadStream({ label: `bucket ${input.id}` })) : opened;
  const decompress = decompressStream(codecOf(exchange), {
    ...(input.bytes !== undefined ? { plainBytes: input.bytes } : {}),
    label: `bucket ${input.id}`,
  });
  return through(body, decompress);
}

/**
 * Every input with the SHA-256 of its ciphertext, in the grant's order. An input the task did not
 * read to its end (a mapper that stopped early) is downloaded once more, whole, to hash it: the
 * worker signs only digests of bytes it received itself.
 */
async function readBuckets(
  client: StoreClient,
  exchange: TaskExchange,
  read: ReadDigests,
): Promise<ReadBucket[]> {
  const out: ReadBucket[] = [];
  for (const input of exchange.inputs) {
    let digest = read.get(input.id);
    if (digest === undefined) {
      await pipeline(
        client.download(exchange.grant, input.id),
        sha256Tap((d) => {
          digest = d;
        }),
        new Writable({ write: (_chunk, _encoding, next) => next() }),
      );
    }
    out.push({ id: input.id, digest: digest as string });
  }
  return out;
}

/** A sealed task's result: the engine's, its sealed outputs, and the buckets it read. */
export type SealedResult<T> = T & { sealed: SealedOutput[]; read: ReadBucket[] };

export async function runSealedMap(
  options: MapTaskOptions,
  exchange: TaskExchange,
  identity: WorkerIdentity,
  access: StoreAccess = {},
): Promise<SealedResult<MapTaskResult>> {
  const client = clientFor(exchange, identity, access);
  const digests: ReadDigests = new Map();
  const result = await runMapTask({
    ...options,
    openSegment: (_segment, index) => {
      const input = exchange.inputs[index];
      if (!input) throw new Error(`the grant has no bucket for segment ${index}`);
      return openedDownload(client, exchange, input, identity, digests);
    },
  });
  const outputs = result.outputs.map((file, i) => {
    const id = exchange.outputIds[i];
    if (!id) throw new Error(`the grant has no output bucket for partition ${i}`);
    return { id, file };
  });
  // A map-only job's output is its part file, which only the job host reads: nothing to pad.
  const pad = jobSettings(options.job).shufflePadding && options.job.numReduceTasks > 0;
  const { sealed, paddingBytes } = await storeOutputs(client, exchange, outputs, { pad });
  let counters = result.counters;
  if (paddingBytes !== undefined) {
    const merged = new Counters();
    merged.merge(counters);
    merged.increment(TORMR_GROUP, SHUFFLE_PADDING_BYTES, paddingBytes);
    counters = merged.toJSON();
  }
  return { ...result, counters, sealed, read: await readBuckets(client, exchange, digests) };
}

export async function runSealedReduce(
  options: ReduceTaskOptions,
  exchange: TaskExchange,
  identity: WorkerIdentity,
  access: StoreAccess = {},
): Promise<SealedResult<ReduceTaskResult>> {
  const client = clientFor(exchange, identity, access);
  const digests: ReadDigests = new Map();
  const padded = jobSettings(options.job).shufflePadding;
  // The merge reads its runs by byte range, so each opened partition lands in the task's folder first.
  await mkdir(options.taskDir, { recursive: true });
  const segments: RunSegment[] = new Array(exchange.inputs.length);
  let next = 0;
  const fetchSome = async () => {
    for (let i = next++; i < exchange.inputs.length; i = next++) {
      const path = join(options.taskDir, `in-${i}`);
      const input = exchange.inputs[i] as BucketInput;
      await pipeline(
        openedDownload(client, exchange, input, identity, digests, padded),
        createWriteStream(path),
      );
      segments[i] = { path, offset: 0, length: (await stat(path)).size };
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_DOWNLOADS }, fetchSome));
  const result = await runReduceTask({ ...options, inputs: segments });
  await Promise.all(segments.map(({ path }) => rm(path, { force: true })));
  const id = exchange.outputIds[0];
  if (!id) throw new Error("the grant has no output bucket");
  const file = { path: result.outputPath, records: result.records, bytes: result.bytes };
  const { sealed } = await storeOutputs(client, exchange, [{ id, file }], { pad: false });
  return { ...result, sealed, read: await readBuckets(client, exchange, digests) };
}

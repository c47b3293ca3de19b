// A task's outputs on their way to the store: compressed, padded to one size when the job pads its shuffle, sealed under fresh keys.
import { createReadStream, createWriteStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { newBucketKey, seal, sealedLength } from "@tormr/crypto/bucket-seal";
import { wrapKey, wrappedKeyToString } from "@tormr/crypto/key-wrap";
import type { PartitionFile } from "@tormr/mapreduce/collector";
import { type BucketCodec, compressStream, NO_COMPRESSION } from "@tormr/protocol/bucket-codec";
import { padded, planPadding } from "@tormr/protocol/bucket-padding";
import type { StoreClient } from "@tormr/protocol/store-client";
import type { SealedOutput, TaskExchange } from "@tormr/protocol/task-exchange";
import { through } from "./through.ts";

/** Our counters' group, beside Hadoop's (org.apache.hadoop.mapreduce.TaskCounter and the rest). */
export const TORMR_GROUP = "tormr";
/** The ciphertext bytes a map task's shuffle padding added to its partition buckets. */
export const SHUFFLE_PADDING_BYTES = "SHUFFLE_PADDING_BYTES";

const READ_AHEAD = 256 * 1024;

/** One output to store: its bucket id and the local file of its plaintext. */
export interface OutputFile {
  id: string;
  file: Pick<PartitionFile, "path" | "records" | "bytes">;
}

/** An output compressed, ready to be sealed: `body` is the file that goes under the seal. */
interface Packed extends OutputFile {
  body: string;
  bodyBytes: number;
}

/** The job's codec: a job host from before compression sends none. */
export function codecOf(exchange: TaskExchange): BucketCodec {
  return exchange.compression ?? NO_COMPRESSION;
}

/**
 * Compresses the file into one beside it, so that the sealed length is known before the upload
 * (the store refuses an oversized bucket before any byte is sent). "none" seals the file itself.
 */
async function pack(codec: BucketCodec, output: OutputFile): Promise<Packed> {
  const { path, bytes } = output.file;
  let body = path;
  if (codec.codec !== "none") {
    body = `${path}.${codec.codec}`;
    await pipeline(
      createReadStream(path, { highWaterMark: READ_AHEAD }),
      compressStream(codec, { sizeHint: bytes }),
      createWriteStream(body),
    );
  }
  return { ...output, body, bodyBytes: (await stat(body)).size };
}

/**
 * Seals the packed file under a fresh key into its bucket, padded to `paddedLength` bytes of
 * plaintext if given, and wraps the key to the job host. The output reports the file's plaintext
 * records and bytes, never the stored size: with or without padding, `bytes` is what opening,
 * unpadding and decompressing the bucket gives, which is the bound the job host keeps for it.
 */
async function sealAndPut(
  client: StoreClient,
  exchange: TaskExchange,
  packed: Packed,
  paddedLength?: number,
): Promise<SealedOutput> {
  const { id, file, body, bodyBytes } = packed;
  const key = newBucketKey();
  const upload = async () => {
    const length = sealedLength(paddedLength ?? bodyBytes, undefined, id);
    const read = createReadStream(body, { highWaterMark: READ_AHEAD });
    const plain =
      paddedLength === undefined ? read : Readable.from(padded(read, bodyBytes, paddedLength));
    const sealed = through(plain, seal(key, id));
    return client.put(exchange.grant, id, sealed, { records: file.records, length });
  };
  const info = await upload().finally(() => rm(body, { force: true }));
  await rm(file.path, { force: true });
  const host = Buffer.from(exchange.hostWrappingKey, "base64url");
  return {
    id,
    key: wrappedKeyToString(wrapKey(key, id, host)),
    records: file.records,
    bytes: file.bytes,
    digest: info.digest,
  };
}

export interface StoredOutputs {
  sealed: SealedOutput[];
  /** With padding: the ciphertext bytes it added, over all the outputs (0 is possible). */
  paddingBytes?: number;
}

/**
 * Stores a task's outputs, in order. Unpadded, each is compressed and sealed in turn. Padded (a
 * map task's R partitions under `tormr.shuffle.padding`), all are compressed first, since their
 * one sealed size is the largest one's size class (protocol's bucket-padding.ts), then each is
 * framed and zero-filled to it under its seal.
 */
export async function storeOutputs(
  client: StoreClient,
  exchange: TaskExchange,
  outputs: readonly OutputFile[],
  options: { pad: boolean },
): Promise<StoredOutputs> {
  const codec = codecOf(exchange);
  const sealed: SealedOutput[] = [];
  if (!options.pad) {
    for (const output of outputs)
      sealed.push(await sealAndPut(client, exchange, await pack(codec, output)));
    return { sealed };
  }
  const packed: Packed[] = [];
  for (const output of outputs) packed.push(await pack(codec, output));
  const plan = planPadding(packed.map((p) => ({ id: p.id, bytes: p.bodyBytes })));
  for (const [i, p] of packed.entries()) {
    const length = plan.plainLengths[i];
    if (length === undefined) throw new Error(`no padded length planned for ${p.id}`);
    sealed.push(await sealAndPut(client, exchange, p, length));
  }
  return { sealed, paddingBytes: plan.paddingBytes };
}

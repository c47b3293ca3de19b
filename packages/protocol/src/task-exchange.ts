// A sealed task as the master hands it to a worker (store, grant, wrapped keys), and what the worker hands back.
import { z } from "zod";
import { bucketCodecSchema } from "./bucket-codec.ts";

/** One bucket a task reads: its id and its key, wrapped to the worker's X25519 key (base64url). */
export const bucketInputSchema = z.object({
  id: z.string(),
  key: z.string(),
  /**
   * Its plaintext bytes as the job host has them on record: opening it must give exactly this
   * many, which bounds a decompression bomb. Absent when the job host has no record of them.
   */
  bytes: z.number().int().nonnegative().optional(),
});
export type BucketInput = z.infer<typeof bucketInputSchema>;

export const taskExchangeSchema = z.object({
  /** The bucket store's base URL. */
  storeUrl: z.string(),
  /** The attempt's grant (an EdDSA JWT bound to the worker's pseudonym). */
  grant: z.string(),
  /** Map: one bucket per segment of the split. Reduce: partition r of each committed map output. */
  inputs: z.array(bucketInputSchema),
  /** Where the outputs go: the id of each partition (map) or of the part (reduce and map-only). */
  outputIds: z.array(z.string()),
  /** The job host's X25519 public key (base64url): output keys are wrapped to it. */
  hostWrappingKey: z.string(),
  /**
   * How the job's buckets are compressed under their seal, inputs and outputs alike (see
   * bucket-codec.ts). Absent means none: what job hosts from before compression send.
   */
  compression: bucketCodecSchema.optional(),
});
export type TaskExchange = z.infer<typeof taskExchangeSchema>;

/** An output the worker sealed and stored. */
export const sealedOutputSchema = z.object({
  id: z.string(),
  /** The bucket key, wrapped to the job host (base64url). */
  key: z.string(),
  /**
   * Plaintext records and bytes: what the bucket holds before compression and sealing, so never
   * the stored size (the store knows that one). The job host keeps `bytes` as the bound on what
   * opening the bucket may give.
   */
  records: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** SHA-256 of the stored (sealed) bytes, as the store computed it. */
  digest: z.string(),
});
export type SealedOutput = z.infer<typeof sealedOutputSchema>;

/** The public half of a worker's keys, sent when it starts. Its private keys never leave it. */
export const workerKeysSchema = z.object({
  /** Ed25519 public key (base64url); its thumbprint is the worker's pseudonym. */
  signing: z.string(),
  /** X25519 public key (base64url) that bucket keys are wrapped to. */
  wrapping: z.string(),
});
export type WorkerKeys = z.infer<typeof workerKeysSchema>;

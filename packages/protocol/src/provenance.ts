// `_PROVENANCE.json`, written beside `_SUCCESS`: who computed each part of a job's output, with their signed statements.
import { z } from "zod";
import {
  RESULT_STATEMENT_FORMAT,
  resultClaimsSchema,
  sha256Hex,
  workerJobSchema,
} from "./worker-api.ts";

export const PROVENANCE_FILE = "_PROVENANCE.json";
export const PROVENANCE_FORMAT = "tormr-provenance/1";

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "expected base64url");
const taskName = z.string().regex(/^[mr][0-9]+$/, "expected a task name such as m3 or r0");

/** A committed task: the worker that won it, its public signing key, and what it signed. */
export const provenanceTaskSchema = z.object({
  task: taskName,
  /** The worker's pseudonym: the RFC 7638 thumbprint of `signingKey`. */
  worker: z.string().min(1),
  /** The worker's Ed25519 public key (base64url), as it joined the job with it. */
  signingKey: base64url,
  /** The claims it signed: `resultStatement(statement)` gives the signed bytes. */
  statement: resultClaimsSchema,
  /** Ed25519 signature (base64url) over `resultStatement(statement)`. */
  signature: base64url,
});
export type ProvenanceTask = z.infer<typeof provenanceTaskSchema>;

/**
 * A part file and the digest chain behind it. `bucket` and `ciphertextSha256` are the output its
 * task's statement signed; `sha256` and `bytes` are what the job host wrote after it decrypted
 * that bucket. That mapping (ciphertext digest to plaintext digest) is the job host's word alone:
 * no worker ever signs plaintext it handed over sealed.
 */
export const provenancePartSchema = z.object({
  file: z.string().regex(/^part-[0-9]{5,}$/, "expected a part file name such as part-00000"),
  /** The task that produced it: a reduce, or a map in a map-only job. */
  task: taskName,
  bucket: z.string().min(1),
  ciphertextSha256: sha256Hex,
  sha256: sha256Hex,
  bytes: z.number().int().nonnegative(),
});
export type ProvenancePart = z.infer<typeof provenancePartSchema>;

export const provenanceSchema = z.object({
  format: z.literal(PROVENANCE_FORMAT),
  /** The first line of every signed statement in this file. */
  statementFormat: z.literal(RESULT_STATEMENT_FORMAT),
  job: workerJobSchema.shape.id,
  /** When the job host wrote the file. */
  writtenAt: z.iso.datetime(),
  /** The job as its workers saw it: never the requester's paths. */
  spec: z.object({
    task: workerJobSchema.shape.task,
    maps: z.number().int().nonnegative(),
    reduces: z.number().int().nonnegative(),
    /** SHA-256 of the code bundle: every statement must name it. */
    codeDigest: sha256Hex,
    image: z.string().min(1),
    /**
     * The maps that were decoys the job host planted (#8): their signed results are listed, but
     * no reduce read them and no part is theirs. Parts of a map-only job are numbered over the
     * real maps only.
     */
    decoys: z.array(z.number().int().nonnegative()).default([]),
  }),
  /** Every committed task, maps first, each by index. */
  tasks: z.array(provenanceTaskSchema),
  /** Every part file of the output folder, in order. */
  parts: z.array(provenancePartSchema),
});
export type Provenance = z.infer<typeof provenanceSchema>;

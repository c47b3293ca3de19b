// The bucket store's HTTP API: paths, headers and bodies, shared by the store and its clients.
import { z } from "zod";

/** `GET|PUT /buckets/<id>`: the id keeps its slashes; it is never percent-encoded. */
export const BUCKETS_PATH = "/buckets/";

export function bucketPath(id: string): string {
  return `${BUCKETS_PATH}${id}`;
}

export const HEADERS = {
  /** `Bearer <grant JWT>`. */
  grant: "authorization",
  /** The worker's proof-of-possession JWS over method, path and the grant's jti. */
  proof: "tormr-proof",
  /** On PUT: the number of plaintext records the writer sealed into the bucket. */
  records: "tormr-records",
} as const;

/** Every error answer: a stable code and a message that names the problem. */
export const errorBodySchema = z.object({ code: z.string(), message: z.string() });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** What a PUT answers, and what a store keeps about each bucket. */
export const bucketInfoSchema = z.object({
  id: z.string(),
  size: z.number().int().nonnegative(),
  records: z.number().int().nonnegative(),
  /** SHA-256 (hex) of the stored, sealed bytes. */
  digest: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BucketInfo = z.infer<typeof bucketInfoSchema>;

export const recordsHeaderSchema = z.coerce
  .number()
  .int()
  .nonnegative()
  .max(Number.MAX_SAFE_INTEGER);

// Bucket ids: the keys of the job host's bucket store, safe to use as relative file paths.
import { CryptoError } from "./errors.ts";

/** The longest bucket id the store accepts, in characters (all ASCII, so also in bytes). */
export const MAX_BUCKET_ID_LENGTH = 200;

const SEGMENT = /^[A-Za-z0-9._-]+$/;
const JOB_ID = /^[A-Za-z0-9_-]+$/;
/** Canonical decimal: no sign, no leading zero, so each index has exactly one spelling. */
const INDEX = "(0|[1-9][0-9]*)";
const MAP_OUTPUT = new RegExp(`^j/([A-Za-z0-9_-]+)/m/${INDEX}/${INDEX}/p${INDEX}$`);

/** Why `id` is not a bucket id, or undefined if it is one. */
function bucketIdProblem(id: unknown): string | undefined {
  if (typeof id !== "string") return `expected a string, got ${typeof id}`;
  if (id.length === 0) return "it is empty";
  if (id.length > MAX_BUCKET_ID_LENGTH) {
    return `it is ${id.length} characters long, the limit is ${MAX_BUCKET_ID_LENGTH}`;
  }
  if (id.startsWith("/")) return "it starts with '/'";
  if (id.endsWith("/")) return "it ends with '/'";
  for (const segment of id.split("/")) {
    if (segment === "") return "it has an empty segment ('//')";
    if (segment === "." || segment === "..") return `it has a '${segment}' segment`;
    if (!SEGMENT.test(segment)) {
      return "a segment has a character outside [A-Za-z0-9._-]";
    }
  }
  return undefined;
}

/** A bad value for an error message: quoted, escaped and cut short, so it cannot forge log lines. */
export function quoteForMessage(value: string, max = 80): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  return JSON.stringify(cut);
}

/**
 * Is `id` a bucket id? ASCII segments of `[A-Za-z0-9._-]+` separated by single `/`, never `.` or
 * `..`, no leading or trailing `/`, at most {@link MAX_BUCKET_ID_LENGTH} characters. Such an id joined
 * under a folder always names a path inside that folder.
 */
export function isValidBucketId(id: unknown): id is string {
  return bucketIdProblem(id) === undefined;
}

/**
 * Returns `id` if it is a bucket id (see {@link isValidBucketId}).
 *
 * @throws CryptoError `ERR_CRYPTO_ARGUMENT` naming the id and the rule it breaks.
 */
export function checkBucketId(id: unknown): string {
  const problem = bucketIdProblem(id);
  if (problem === undefined) return id as string;
  const shown = typeof id === "string" ? ` ${quoteForMessage(id)}` : "";
  throw new CryptoError("ERR_CRYPTO_ARGUMENT", `invalid bucket id${shown}: ${problem}`);
}

/** Is `prefix` a bucket id followed by `/`? Only such prefixes cannot match `…/3/01` for `…/3/0`. */
export function isValidBucketIdPrefix(prefix: unknown): prefix is string {
  return typeof prefix === "string" && prefix.endsWith("/") && isValidBucketId(prefix.slice(0, -1));
}

/** Is `job` a job id, `[A-Za-z0-9_-]+` (e.g. `job_20261125101010_0001`)? */
export function isValidJobId(job: unknown): job is string {
  return typeof job === "string" && JOB_ID.test(job);
}

function checkJob(job: string): string {
  if (!isValidJobId(job)) {
    const shown = typeof job === "string" ? quoteForMessage(job) : typeof job;
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `invalid job id ${shown}: expected [A-Za-z0-9_-]+`,
    );
  }
  return job;
}

function checkIndex(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CryptoError(
      "ERR_CRYPTO_ARGUMENT",
      `${name}: expected a non-negative integer, got ${String(value)}`,
    );
  }
  return value;
}

/** `j/<job>/split/<map>/<segment>`: one input segment of a map task, written by the job host. */
export function splitBucketId(job: string, map: number, segment: number): string {
  return checkBucketId(
    `j/${checkJob(job)}/split/${checkIndex("map", map)}/${checkIndex("segment", segment)}`,
  );
}

/** `j/<job>/m/<map>/<attempt>/`: the write prefix of one map attempt's outputs. */
export function mapOutputPrefix(job: string, map: number, attempt: number): string {
  const prefix = `j/${checkJob(job)}/m/${checkIndex("map", map)}/${checkIndex("attempt", attempt)}`;
  return `${checkBucketId(prefix)}/`;
}

/** `j/<job>/m/<map>/<attempt>/p<partition>`: one reduce partition of a map attempt's output. */
export function mapOutputId(job: string, map: number, attempt: number, partition: number): string {
  return checkBucketId(
    `${mapOutputPrefix(job, map, attempt)}p${checkIndex("partition", partition)}`,
  );
}

/** `j/<job>/m/<map>/<attempt>/out`: the whole output of a map attempt in a map-only job. */
export function mapOnlyOutputId(job: string, map: number, attempt: number): string {
  return checkBucketId(`${mapOutputPrefix(job, map, attempt)}out`);
}

/** `j/<job>/r/<partition>/<attempt>/`: the write prefix of one reduce attempt's output. */
export function reduceOutputPrefix(job: string, partition: number, attempt: number): string {
  const prefix = `j/${checkJob(job)}/r/${checkIndex("partition", partition)}/${checkIndex("attempt", attempt)}`;
  return `${checkBucketId(prefix)}/`;
}

/** `j/<job>/r/<partition>/<attempt>/out`: one reduce attempt's output. */
export function reduceOutputId(job: string, partition: number, attempt: number): string {
  return checkBucketId(`${reduceOutputPrefix(job, partition, attempt)}out`);
}

export interface MapOutputRef {
  job: string;
  map: number;
  attempt: number;
  partition: number;
}

/**
 * The parts of a partitioned map output id `j/<job>/m/<map>/<attempt>/p<partition>`, or undefined
 * for any other id (including a map-only `…/out`, and indexes spelled with leading zeros).
 */
export function parseMapOutputId(id: string): MapOutputRef | undefined {
  if (!isValidBucketId(id)) return undefined;
  const match = MAP_OUTPUT.exec(id);
  if (match === null) return undefined;
  const [, job, map, attempt, partition] = match;
  const numbers = [map, attempt, partition].map(Number);
  if (job === undefined || !numbers.every(Number.isSafeInteger)) return undefined;
  const [m, a, p] = numbers as [number, number, number];
  return { job, map: m, attempt: a, partition: p };
}

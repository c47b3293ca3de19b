// The job spec every runner takes, and the typed settings read from its -D configuration.
import { z } from "zod";
import { type Compression, compressionSetting } from "./compression-setting.ts";
import { MapReduceError } from "./errors.ts";

const absolutePath = z.string().refine((p) => p.startsWith("/"), "must be an absolute path");

export const streamingTaskSchema = z.object({
  kind: z.literal("streaming"),
  mapper: z.string().min(1),
  combiner: z.string().min(1).optional(),
  /** Absent for a map-only job (`-reducer NONE`). */
  reducer: z.string().min(1).optional(),
});

export const jsTaskSchema = z.object({
  kind: z.literal("js"),
  /** Absolute path of an ES module exporting `map`, optionally `combine`, and `reduce`. */
  module: absolutePath,
});

export const jobSpecSchema = z.object({
  id: z.string().regex(/^job_[0-9A-Za-z]+_[0-9]{4,}$/, "must look like job_<stamp>_<seq>"),
  inputs: z.array(absolutePath).min(1),
  output: absolutePath,
  task: z.discriminatedUnion("kind", [streamingTaskSchema, jsTaskSchema]),
  numReduceTasks: z.number().int().min(0).max(100_000),
  /** Files copied into every task's working folder (`-file`). */
  files: z.array(absolutePath).default([]),
  /** Extra environment for every task (`-cmdenv K=V`). */
  cmdenv: z.record(z.string(), z.string()).default({}),
  /** The `-D` configuration, as given. */
  conf: z.record(z.string(), z.string()).default({}),
});

export type JobSpec = z.infer<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;

/** The engine's settings, read from the -D configuration with Hadoop's names and defaults. */
export interface JobSettings {
  sortBudgetBytes: number;
  splitSizeBytes: number;
  mapOutputSeparator: string;
  mapOutputKeyFields: number;
  reduceInputSeparator: string;
  mapMaxAttempts: number;
  reduceMaxAttempts: number;
  /** How the job's buckets are compressed before they are sealed (`tormr.compression`). */
  compression: Compression;
  /**
   * The most of the input records (and of the map output records) any one worker may be given,
   * as a fraction in (0, 1] (`tormr.exposure.cap`); null: no cap.
   */
  exposureCap: number | null;
  /** How many colluding workers the cap also bounds together (`tormr.exposure.collusion`). */
  exposureCollusion: number;
  /**
   * Whether every map task pads its R partition buckets to one ciphertext size, so their sizes no
   * longer show the key distribution (`tormr.shuffle.padding`; see protocol's bucket-padding.ts).
   */
  shufflePadding: boolean;
  /**
   * How many distinct workers run each task (`tormr.replication`, 1 to 5): with 2 or more, a task
   * commits only when that many results agree on their output's plaintext digests.
   */
  replication: number;
  /**
   * The share of the job's tasks the job host runs again itself, in its own sandbox, to compare
   * with the worker's result (`tormr.spotcheck.rate`, 0 to 1; 0: none). Which ones: a secret draw.
   */
  spotCheckRate: number;
  /**
   * How many decoy splits the job host plants, as a share of the real ones, rounded up
   * (`tormr.decoy.rate`, 0 to 1; 0: none). Their expected output is the job host's own run.
   */
  decoyRate: number;
}

export const DEFAULT_SPLIT_SIZE = 32 * 1024 * 1024;
export const DEFAULT_SORT_MB = 100;
export const DEFAULT_MAX_ATTEMPTS = 4;
export const EXPOSURE_CAP_KEY = "tormr.exposure.cap";
export const EXPOSURE_COLLUSION_KEY = "tormr.exposure.collusion";
export const SHUFFLE_PADDING_KEY = "tormr.shuffle.padding";
export const REPLICATION_KEY = "tormr.replication";
export const SPOT_CHECK_KEY = "tormr.spotcheck.rate";
export const DECOY_KEY = "tormr.decoy.rate";
/** The most replicas a task may have: each one is a whole extra run of the job. */
export const MAX_REPLICATION = 5;

function positiveInt(conf: Record<string, string>, key: string, fallback: number): number {
  const raw = conf[key];
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${key}=${raw}: expected a positive whole number, got '${raw}'`,
    );
  }
  return Number(raw);
}

function separator(conf: Record<string, string>, key: string): string {
  const raw = conf[key];
  if (raw === undefined) return "\t";
  // Hadoop users write the tab as an escape because shells make a literal one awkward.
  const value = raw.replaceAll("\\t", "\t");
  if (value.length === 0 || value.includes("\n")) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${key}: expected a non-empty separator without newlines, got '${raw}'`,
    );
  }
  return value;
}

/**
 * `tormr.exposure.cap`: a fraction (`0.25`, `.1`, `1`) or a percentage (`25%`, `12.5%`), above 0
 * and at most all. A percentage is shifted as a decimal string, so `12.5%` is exactly the double
 * nearest 0.125 and prints back as it was written.
 */
function exposureCap(conf: Record<string, string>): number | null {
  const raw = conf[EXPOSURE_CAP_KEY];
  if (raw === undefined) return null;
  const value = shareOf(raw);
  if (!(value > 0 && value <= 1)) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${EXPOSURE_CAP_KEY}=${raw}: expected a share of the input records above 0 and at most 1, as a fraction (0.25) or a percentage (25%), got '${raw}'`,
    );
  }
  return value;
}

/** A fraction (`0.25`, `.1`, `1`) or a percentage (`25%`, `12.5%`); NaN for anything else. */
function shareOf(raw: string): number {
  const text = raw.trim();
  const percent = /^(\d+)(?:\.(\d+))?%$/.exec(text);
  return percent
    ? Number(`${percent[1]}${percent[2] ?? ""}e-${(percent[2] ?? "").length + 2}`)
    : /^(?:\d+(?:\.\d*)?|\.\d+)$/.test(text)
      ? Number(text)
      : Number.NaN;
}

/** `tormr.spotcheck.rate`, `tormr.decoy.rate`: a share from 0 (the default: none) to 1. */
function rate(conf: Record<string, string>, key: string, what: string): number {
  const raw = conf[key];
  if (raw === undefined) return 0;
  const value = shareOf(raw);
  if (!(value >= 0 && value <= 1)) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${key}=${raw}: expected the share of ${what} from 0 to 1, as a fraction (0.2) or a percentage (20%), got '${raw}'`,
    );
  }
  return value;
}

/** `tormr.exposure.collusion`: k, a whole number ≥ 1, meaningful only beside a cap. */
function exposureCollusion(conf: Record<string, string>, cap: number | null): number {
  const k = positiveInt(conf, EXPOSURE_COLLUSION_KEY, 1);
  if (cap === null && conf[EXPOSURE_COLLUSION_KEY] !== undefined) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${EXPOSURE_COLLUSION_KEY}=${conf[EXPOSURE_COLLUSION_KEY]}: set -D ${EXPOSURE_CAP_KEY} too; collusion bounds what ${k} workers see together under the cap`,
    );
  }
  return k;
}

/** `tormr.shuffle.padding`: true or false, read as Hadoop's `getBoolean` does (trimmed, any case). */
function shufflePadding(conf: Record<string, string>): boolean {
  const raw = conf[SHUFFLE_PADDING_KEY];
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (value !== "true" && value !== "false") {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${SHUFFLE_PADDING_KEY}=${raw}: expected true or false, got '${raw}'`,
    );
  }
  return value === "true";
}

/** `tormr.replication`: r, a whole number from 1 (no replicas, the default) to 5. */
function replication(conf: Record<string, string>): number {
  const raw = conf[REPLICATION_KEY];
  if (raw === undefined) return 1;
  const text = raw.trim();
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > MAX_REPLICATION) {
    throw new MapReduceError(
      "ERR_BAD_CONF",
      `-D ${REPLICATION_KEY}=${raw}: expected a whole number of replicas from 1 to ${MAX_REPLICATION}, got '${raw}'`,
    );
  }
  return Number(text);
}

export function jobSettings(spec: Pick<JobSpec, "conf">): JobSettings {
  const conf = spec.conf;
  const cap = exposureCap(conf);
  return {
    sortBudgetBytes: positiveInt(conf, "mapreduce.task.io.sort.mb", DEFAULT_SORT_MB) * 1024 * 1024,
    splitSizeBytes: positiveInt(
      conf,
      "mapreduce.input.fileinputformat.split.maxsize",
      DEFAULT_SPLIT_SIZE,
    ),
    mapOutputSeparator: separator(conf, "stream.map.output.field.separator"),
    mapOutputKeyFields: positiveInt(conf, "stream.num.map.output.key.fields", 1),
    reduceInputSeparator: separator(conf, "stream.reduce.input.field.separator"),
    mapMaxAttempts: positiveInt(conf, "mapreduce.map.maxattempts", DEFAULT_MAX_ATTEMPTS),
    reduceMaxAttempts: positiveInt(conf, "mapreduce.reduce.maxattempts", DEFAULT_MAX_ATTEMPTS),
    compression: compressionSetting(conf),
    exposureCap: cap,
    exposureCollusion: exposureCollusion(conf, cap),
    shufflePadding: shufflePadding(conf),
    replication: replication(conf),
    spotCheckRate: rate(conf, SPOT_CHECK_KEY, "tasks the job host runs again itself"),
    decoyRate: rate(conf, DECOY_KEY, "decoy splits to real ones"),
  };
}

export function parseJobSpec(input: unknown): JobSpec {
  const parsed = jobSpecSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "job spec";
    throw new MapReduceError("ERR_BAD_JOB_SPEC", `${where}: ${issue?.message ?? "invalid"}`);
  }
  jobSettings(parsed.data);
  return parsed.data;
}

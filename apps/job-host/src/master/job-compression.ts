// Which codec a stored job's buckets use: pinned into its conf when it is created, so that a resumed job keeps it.
import { COMPRESSION_KEY, type Compression } from "@tormr/mapreduce/compression-setting";
import { type JobSpec, jobSettings } from "@tormr/mapreduce/job-spec";

/**
 * The spec with its `tormr.compression` written out (the default if it was not given). A later
 * default, on a job host upgraded while the job waited, then cannot change how its sealed
 * splits are read.
 */
export function pinCompression(spec: JobSpec): JobSpec {
  const { codec, level } = jobSettings(spec).compression;
  const value = codec === "none" ? "none" : `${codec}:${level}`;
  return { ...spec, conf: { ...spec.conf, [COMPRESSION_KEY]: value } };
}

/** The codec of a job as stored; none for a job stored before compression (its key unset). */
export function storedCompression(spec: Pick<JobSpec, "conf">): Compression {
  if (spec.conf[COMPRESSION_KEY] === undefined) return { codec: "none", level: 0 };
  return jobSettings(spec).compression;
}

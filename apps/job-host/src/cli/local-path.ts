// Turns a path flag's value into an absolute local path, refusing Hadoop filesystem URLs.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UsageError } from "./usage-error.ts";

/** Hadoop filesystem schemes that pasted lines use, also in their one-colon form (`hdfs:/data`). */
const HADOOP_SCHEMES = new Set([
  "file",
  "hdfs",
  "viewfs",
  "webhdfs",
  "swebhdfs",
  "har",
  "s3",
  "s3a",
  "s3n",
  "gs",
  "wasb",
  "wasbs",
  "abfs",
  "abfss",
]);

function schemeOf(raw: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]+):(\/\/)?/.exec(raw);
  if (match === null) return undefined;
  const scheme = match[1]!.toLowerCase();
  return match[2] !== undefined || HADOOP_SCHEMES.has(scheme) ? scheme : undefined;
}

/** Relative paths are resolved against `cwd`; `file:` URLs become paths. */
export function localPath(flag: string, raw: string, cwd: string): string {
  const scheme = schemeOf(raw);
  if (scheme === undefined) return path.resolve(cwd, raw);
  if (scheme === "file") {
    try {
      return fileURLToPath(raw);
    } catch {
      throw new UsageError(
        "ERR_BAD_VALUE",
        `${flag} ${raw}: not a local file URL`,
        "give a plain path instead",
      );
    }
  }
  throw new UsageError(
    "ERR_BAD_VALUE",
    `${flag} ${raw}: tormr uses local paths, not ${scheme}: URLs`,
    "copy the data to this machine (e.g. hdfs dfs -get) and give its local path",
  );
}

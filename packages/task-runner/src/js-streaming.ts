// A JS job as a streaming job: js-runner.mjs speaks the line protocol, so a worker runs the job's code in its sandbox.
import { basename, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { MapReduceError } from "@tormr/mapreduce/errors";
import type { JobSpec } from "@tormr/mapreduce/job-spec";
import { loadJobModule } from "@tormr/mapreduce/js-job";

/** The runner script, for the job host to put in the job's code bundle beside the module. */
export const JS_RUNNER_PATH = fileURLToPath(new URL("./js-runner.mjs", import.meta.url));
export const JS_RUNNER_NAME = basename(JS_RUNNER_PATH);

/**
 * The environment variable that hands the runner the job's `-D` configuration as JSON, for
 * `ctx.conf`: Hadoop's own variables (`mapreduce_task_io_sort_mb`) lose the keys' dots.
 */
export const JOB_CONF_ENV = "TORMR_JOB_CONF";

/** The configuration keys that make streaming records differ from a JS job's "key<TAB>value". */
const RECORD_FORMAT_CONF: Record<string, string> = {
  "stream.map.output.field.separator": "\t",
  "stream.num.map.output.key.fields": "1",
  "stream.reduce.input.field.separator": "\t",
};

export interface JsJobExports {
  hasCombine: boolean;
  hasReduce: boolean;
}

/**
 * Where `combine` runs. "mapper" (the default): in the mapper, over its buffered output, as the
 * engine runs a JS job's combine in process: the same values in the same order, the same
 * `ctx.inputFile`, the same counters, and far fewer records through the pipes. "combiner": as a
 * Hadoop Streaming combiner over each spill's sorted records (values in byte order, no input file).
 */
export type CombineIn = "mapper" | "combiner";

export interface JsStreamingOptions extends JsJobExports {
  /** The runner's name in the job folder; default {@link JS_RUNNER_NAME}. */
  runner?: string;
  combineIn?: CombineIn;
}

export interface StreamingCommands {
  mapper: string;
  combiner?: string;
  reducer?: string;
}

/** `word` as one shell word: as it is when it holds nothing the shell treats specially. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9._+/@%=:,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A path inside the job folder: relative, and not climbing out of it. */
function checkJobPath(what: string, path: string): void {
  if (path === "" || isAbsolute(path) || path.split("/").includes("..")) {
    throw new MapReduceError(
      "ERR_BAD_JOB_SPEC",
      `${what} '${path}': expected a path inside the job folder (relative, without '..')`,
    );
  }
}

/**
 * The streaming commands that run `moduleName` (a file in the job folder) through the runner.
 * `hasReduce`: the module has a reduce and the job reduce tasks. `combine` runs only with a
 * reducer: a map-only job has no shuffle to combine for, in process or not.
 */
export function jsJobAsStreaming(
  moduleName: string,
  options: JsStreamingOptions,
): StreamingCommands {
  const runner = options.runner ?? JS_RUNNER_NAME;
  checkJobPath("job module", moduleName);
  checkJobPath("runner", runner);
  const command = (role: string) => `node ${shellQuote(runner)} ${role} ${shellQuote(moduleName)}`;
  const combine = options.hasCombine && options.hasReduce;
  const inMapper = combine && (options.combineIn ?? "mapper") === "mapper";
  return {
    mapper: command(inMapper ? "map-combine" : "map"),
    ...(combine && !inMapper ? { combiner: command("combine") } : {}),
    ...(options.hasReduce ? { reducer: command("reduce") } : {}),
  };
}

/**
 * Which optional functions the module at `path` exports, by loading it as the engine does (the
 * job host trusts its requester's own module). Fails as the engine would on a module without
 * `map`, or without `reduce` when `needsReduce`.
 */
export async function jobModuleExports(path: string, needsReduce: boolean): Promise<JsJobExports> {
  const module = await loadJobModule(path, needsReduce);
  return { hasCombine: module.combine !== undefined, hasReduce: module.reduce !== undefined };
}

/**
 * The streaming job that does what the JS job `job` does: the runner and the module shipped as
 * files, the configuration passed for `ctx.conf`, and the record format forced to the JS one
 * (the engine ignores those keys for a JS job, so the streaming form must too).
 */
export async function jsJobAsStreamingSpec(
  job: JobSpec,
  options: { combineIn?: CombineIn } = {},
): Promise<JobSpec> {
  if (job.task.kind !== "js") {
    throw new MapReduceError("ERR_BAD_JOB_SPEC", `job ${job.id}: expected a JS job, got streaming`);
  }
  const module = job.task.module;
  const { hasCombine, hasReduce } = await jobModuleExports(module, job.numReduceTasks > 0);
  const moduleName = basename(module);
  const shipped = new Map(job.files.map((file) => [basename(file), file]));
  for (const [name, path] of [
    [JS_RUNNER_NAME, JS_RUNNER_PATH],
    [moduleName, module],
  ] as const) {
    const other = shipped.get(name);
    if (other !== undefined && other !== path) {
      throw new MapReduceError(
        "ERR_BAD_JOB_SPEC",
        `-file ${other}: its name '${name}' is taken by ${path}, which the JS job needs in its folder`,
      );
    }
    shipped.set(name, path);
  }
  const conf = { ...job.conf };
  for (const [key, value] of Object.entries(RECORD_FORMAT_CONF)) {
    if (key in conf) conf[key] = value;
  }
  return {
    ...job,
    task: {
      kind: "streaming",
      ...jsJobAsStreaming(moduleName, {
        hasCombine,
        hasReduce: hasReduce && job.numReduceTasks > 0,
        ...options,
      }),
    },
    files: [...shipped.values()],
    cmdenv: { ...job.cmdenv, [JOB_CONF_ENV]: JSON.stringify(job.conf) },
    conf,
  };
}

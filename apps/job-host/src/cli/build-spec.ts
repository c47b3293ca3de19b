// Builds the engine's JobSpec from parsed command-line arguments.

import { makeJobId } from "@tormr/mapreduce/job-id";
import { type JobSpec, parseJobSpec } from "@tormr/mapreduce/job-spec";
import type { RunArgs, StreamingArgs } from "./hadoop-args.ts";
import { localPath } from "./local-path.ts";

export interface BuildSpecOptions {
  /** Relative paths are resolved against it. */
  cwd: string;
  now?: Date;
  random?: () => number;
}

function taskOf(args: StreamingArgs | RunArgs, cwd: string): JobSpec["task"] {
  if (args.command === "run") {
    return { kind: "js", module: localPath("tormr run", args.module, cwd) };
  }
  return {
    kind: "streaming",
    mapper: args.mapper,
    ...(args.combiner !== undefined && { combiner: args.combiner }),
    ...(args.reducer !== undefined && { reducer: args.reducer }),
  };
}

/** Throws MapReduceError (ERR_BAD_JOB_SPEC, ERR_BAD_CONF) if the engine would refuse the spec. */
export function buildJobSpec(args: StreamingArgs | RunArgs, options: BuildSpecOptions): JobSpec {
  const { cwd } = options;
  return parseJobSpec({
    id: makeJobId(options.now ?? new Date(), options.random),
    inputs: args.inputs.map((p) => localPath("-input", p, cwd)),
    output: localPath("-output", args.output, cwd),
    task: taskOf(args, cwd),
    numReduceTasks: args.numReduceTasks,
    files: args.command === "streaming" ? args.files.map((p) => localPath("-file", p, cwd)) : [],
    cmdenv: args.command === "streaming" ? args.cmdenv : {},
    conf: args.conf,
  });
}

// What each tormr command is: its parser, and the usage, flags and examples its --help shows.
import { type FlagDef, RUN_FLAGS, STREAMING_FLAGS } from "./flags.ts";
import {
  type HelpRequest,
  parseJarArgs,
  parseRunArgs,
  parseStreamingArgs,
  type RunArgs,
  type StreamingArgs,
} from "./hadoop-args.ts";

export interface CommandDoc {
  name: string;
  /** Shown after the name in the command list of `tormr --help`. */
  term: string;
  usage: string;
  summary: string;
  description: string;
  flags: readonly FlagDef[];
  notes: string[];
  examples: string[];
  parse: (argv: readonly string[]) => StreamingArgs | RunArgs | HelpRequest;
}

const STREAMING_NOTES = [
  "-reducer NONE or -numReduceTasks 0 makes a map-only job. Relative paths are resolved against " +
    "the current folder; hdfs:// and other remote URLs are refused.",
];

export const COMMANDS: readonly CommandDoc[] = [
  {
    name: "streaming",
    term: "[flags]",
    usage: "-input <path> -output <dir> -mapper <cmd> [-reducer <cmd>|NONE] [flags]",
    summary: "Run a Hadoop Streaming job (mapper and reducer are shell commands).",
    description:
      "Run a Hadoop Streaming job: the mapper, combiner and reducer are shell commands that read " +
      "lines on stdin and write key<TAB>value lines on stdout.",
    flags: STREAMING_FLAGS,
    notes: STREAMING_NOTES,
    examples: [
      "tormr streaming -input books/ -output counts -mapper 'python3 map.py' \\",
      "    -reducer 'python3 reduce.py' -file map.py -file reduce.py",
      "tormr streaming -D mapreduce.job.reduces=4 -input logs -output errors \\",
      "    -mapper 'grep ERROR' -reducer NONE",
    ],
    parse: (argv) => parseStreamingArgs(argv),
  },
  {
    name: "jar",
    term: "<name>.jar [flags]",
    usage: "<name>.jar -input <path> -output <dir> -mapper <cmd> [flags]",
    summary: "Same as streaming, for pasted 'hadoop jar hadoop-streaming.jar …' lines.",
    description:
      "Same as 'tormr streaming', so a pasted 'hadoop jar hadoop-streaming.jar …' line runs after " +
      "changing 'hadoop' to 'tormr'. The .jar name is ignored.",
    flags: STREAMING_FLAGS,
    notes: STREAMING_NOTES,
    examples: [
      "tormr jar $HADOOP_HOME/share/hadoop/tools/lib/hadoop-streaming-3.3.6.jar \\",
      "    -input in -output out -mapper /bin/cat -reducer /usr/bin/wc",
    ],
    parse: parseJarArgs,
  },
  {
    name: "run",
    term: "<job-module> [flags]",
    usage: "<job-module> -input <path> -output <dir> [flags]",
    summary: "Run a JavaScript or TypeScript job module.",
    description:
      "Run a JavaScript or TypeScript job: an ES module exporting map, optionally combine, and reduce.",
    flags: RUN_FLAGS,
    notes: [
      "The job module path is resolved against the current folder; it may come before or after the flags.",
    ],
    examples: ["tormr run jobs/word-count.ts -input books/ -output counts -numReduceTasks 4"],
    parse: parseRunArgs,
  },
];

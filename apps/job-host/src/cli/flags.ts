// The flags each command takes, in Hadoop Streaming's spelling; the parser and --help both read them.

export interface FlagDef {
  /** The name without dashes, as looked up: "input", "D", "workers". */
  readonly name: string;
  /** How help and error messages spell it. */
  readonly spelling: string;
  /** Placeholder for its value in help and messages; "" for a switch that takes none. */
  readonly value: string;
  readonly required: boolean;
  readonly repeatable: boolean;
  readonly help: string;
}

function flag(
  spelling: string,
  value: string,
  help: string,
  options: { required?: boolean; repeatable?: boolean } = {},
): FlagDef {
  return {
    name: spelling.replace(/^-+/, ""),
    spelling,
    value,
    required: options.required ?? false,
    repeatable: options.repeatable ?? false,
    help,
  };
}

const input = flag(
  "-input",
  "<path>",
  "Input file or folder, resolved against the current folder. Repeat the flag or separate paths with commas.",
  { required: true, repeatable: true },
);
const output = flag(
  "-output",
  "<dir>",
  "Output folder for the part files. It must not exist yet.",
  { required: true },
);
const numReduceTasks = flag(
  "-numReduceTasks",
  "<n>",
  "Number of reduce tasks (default 1, as in Hadoop). 0 makes a map-only job.",
);
const conf = flag(
  "-D",
  "<key=value>",
  "Job configuration property, also written -Dkey=value. It may come before the other flags. " +
    "-D mapreduce.job.reduces=N sets the number of reduce tasks (-numReduceTasks wins).",
  { repeatable: true },
);
const workers = flag(
  "--workers",
  "<n>",
  "Number of tormr-worker processes joined to a job host started for this job (default: the " +
    "number of cores).",
);

const local = flag(
  "--local",
  "",
  "Run in this process's own pool of task processes (no job host, no tormr-worker): the engine " +
    "alone, for comparison and debugging.",
);

const jobHost = flag(
  "--job-host",
  "<state-dir>",
  "Submit the job to the running 'tormr host' whose state folder this is, instead of starting " +
    "one: it prints one join ticket per --workers (default 3) for volunteers' tormr-workers, then " +
    "follows the job to its end. --workers 0 makes no tickets, for a job whose cluster comes from a board (tormr host --request).",
);

const noSeal = flag(
  "--no-seal",
  "",
  "Pass splits, partitions and outputs between workers as plain files, without the sealed bucket " +
    "store and its grants (implies --local). For measuring what sealing costs; never for real data.",
);

const sandbox = flag(
  "--sandbox",
  "<none|bwrap|docker>",
  "Run each mapper, combiner and reducer in a sandbox: bubblewrap, or Docker with the project's " +
    "Python image (DOCKER_HOST names the daemon). Default: none, they run as you (it is your code).",
);

const tor = flag(
  "--tor",
  "",
  "Run the job host and its --workers over Tor: a private Tor network on 127.0.0.1 is started for " +
    "the job (one tor for the job host, one per worker) and stopped after it; the job host is an " +
    "onion service that lets in only its workers (v3 client authorization).",
);

/** How and where a job runs: the same for every job command. */
const RUN_WHERE: readonly FlagDef[] = [workers, local, jobHost, noSeal, sandbox, tor];

export const STREAMING_FLAGS: readonly FlagDef[] = [
  input,
  output,
  flag(
    "-mapper",
    "<cmd>",
    "Command that reads input lines on stdin and writes key<TAB>value lines to stdout.",
    { required: true },
  ),
  flag("-combiner", "<cmd>", "Command run on each map task's sorted output before the shuffle."),
  flag(
    "-reducer",
    "<cmd>",
    "Command that reads sorted key<TAB>value lines on stdin. NONE makes a map-only job.",
  ),
  numReduceTasks,
  flag("-file", "<path>", "File copied into every task's working folder.", {
    repeatable: true,
  }),
  flag("-files", "<path,path…>", "Comma-separated list of files, each handled like -file.", {
    repeatable: true,
  }),
  flag("-cmdenv", "<NAME=value>", "Environment variable set for every task.", {
    repeatable: true,
  }),
  conf,
  ...RUN_WHERE,
];

export const RUN_FLAGS: readonly FlagDef[] = [input, output, numReduceTasks, conf, ...RUN_WHERE];

export const HELP_TOKENS: ReadonlySet<string> = new Set(["--help", "-help", "-h"]);

/**
 * Hadoop Streaming and generic options that tormr recognises but does not support, with why.
 * Naming them beats a "did you mean" guess when a pasted `hadoop jar …` line uses one.
 */
export const UNSUPPORTED_FLAGS: Readonly<Record<string, string>> = {
  jobconf: "it is the old spelling of -D; write -D key=value instead",
  inputformat: "it names a Java class; tormr reads text lines only",
  outputformat: "it names a Java class; tormr writes text lines only",
  inputreader: "it names a Java class; tormr reads text lines only",
  partitioner: "it names a Java class, which tormr cannot run",
  io: "tormr streams text lines only",
  libjars: "tormr cannot run Java code",
  archives: "ship plain files with -file or -files instead",
  cacheFile: "ship the file with -file instead",
  cacheArchive: "ship plain files with -file or -files instead",
  conf: "set the properties with -D key=value instead",
  fs: "tormr reads local paths only",
  jt: "tormr runs jobs itself",
  lazyOutput: "tormr does not support it",
  background: "tormr runs in the foreground",
  verbose: "tormr does not support it",
  info: "use --help instead",
  debug: "tormr does not support it",
  mapdebug: "tormr does not support it",
  reducedebug: "tormr does not support it",
};

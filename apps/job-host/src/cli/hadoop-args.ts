// Parses `tormr streaming`, `tormr jar` and `tormr run` arguments into typed, checked values.
import { CONF_KEY, commaList, ENV_NAME, keyValue, nonEmpty, wholeNumber } from "./arg-values.ts";
import { type FlagDef, HELP_TOKENS, RUN_FLAGS, STREAMING_FLAGS } from "./flags.ts";
import { type ScannedArgs, scanArgs } from "./scan-args.ts";
import { UsageError } from "./usage-error.ts";

/** Hadoop's default when neither -numReduceTasks nor -D mapreduce.job.reduces is given. */
export const DEFAULT_REDUCE_TASKS = 1;
export const MAX_REDUCE_TASKS = 100_000;
export const MAX_WORKERS = 1024;
/** `-D` keys that set the number of reduce tasks: Hadoop 2+ and its deprecated Hadoop 1 name. */
const REDUCES_KEYS = ["mapreduce.job.reduces", "mapred.reduce.tasks"] as const;

export interface HelpRequest {
  command: "help";
}

export interface CommonJobArgs {
  /** As given (maybe relative), comma lists split. */
  inputs: string[];
  output: string;
  numReduceTasks: number;
  conf: Record<string, string>;
  /** Undefined means "one per core". */
  workers: number | undefined;
  /** False with --no-seal. */
  seal: boolean;
  /** --local (or --no-seal): the in-process worker pool instead of a job host and worker processes. */
  local: boolean;
  /** --sandbox; "none" when not given. */
  sandbox: "none" | "bwrap" | "docker";
  /** --job-host: the state folder of a running `tormr host` to submit the job to. */
  jobHost: string | undefined;
  /** --tor: the job host and its workers talk only through a private Tor network started for the job. */
  tor: boolean;
  /** Things that were accepted but ignored, to print before the job starts. */
  warnings: string[];
}

export interface StreamingArgs extends CommonJobArgs {
  command: "streaming";
  mapper: string;
  combiner: string | undefined;
  /** Undefined for a map-only job and when no -reducer was given. */
  reducer: string | undefined;
  files: string[];
  cmdenv: Record<string, string>;
}

export interface RunArgs extends CommonJobArgs {
  command: "run";
  /** The job module, as given. */
  module: string;
}

function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((token) => HELP_TOKENS.has(token));
}

function checkCounts(scanned: ScannedArgs, flags: readonly FlagDef[], command: string): void {
  for (const def of flags) {
    const given = scanned.values.get(def.name) ?? [];
    if (!def.repeatable && given.length > 1) {
      const shown = given.map((v) => `'${v}'`).join(" and ");
      throw new UsageError(
        "ERR_REPEATED_FLAG",
        `${def.spelling} given ${given.length} times (${shown}); give it once`,
      );
    }
  }
  const missing = flags.filter((def) => def.required && !scanned.values.has(def.name));
  if (missing.length > 0) {
    const names = missing.map((def) => `${def.spelling} ${def.value}`).join(", ");
    throw new UsageError(
      "ERR_MISSING_FLAG",
      `missing required ${missing.length === 1 ? "flag" : "flags"} ${names}`,
      `see tormr ${command} --help`,
    );
  }
}

function one(scanned: ScannedArgs, name: string): string | undefined {
  return scanned.values.get(name)?.[0];
}

function all(scanned: ScannedArgs, name: string): string[] {
  return scanned.values.get(name) ?? [];
}

function commonArgs(scanned: ScannedArgs): CommonJobArgs {
  const conf = new Map<string, string>();
  for (const raw of all(scanned, "D")) {
    const [key, value] = keyValue("-D", raw, CONF_KEY, "must not contain whitespace");
    conf.set(key, value);
  }
  let numReduceTasks = DEFAULT_REDUCE_TASKS;
  const reducesKey = REDUCES_KEYS.find((key) => conf.has(key));
  if (reducesKey !== undefined) {
    numReduceTasks = wholeNumber(`-D ${reducesKey}`, conf.get(reducesKey)!, 0, MAX_REDUCE_TASKS);
  }
  // As in Hadoop's StreamJob, -numReduceTasks is applied after the -D configuration.
  const rawReduces = one(scanned, "numReduceTasks");
  if (rawReduces !== undefined) {
    numReduceTasks = wholeNumber("-numReduceTasks", rawReduces, 0, MAX_REDUCE_TASKS);
  }
  const rawWorkers = one(scanned, "workers");
  const tor = scanned.values.has("tor");
  for (const other of ["local", "no-seal", "job-host"]) {
    if (tor && scanned.values.has(other)) {
      throw new UsageError(
        "ERR_BAD_VALUE",
        other === "job-host"
          ? "--tor and --job-host contradict each other: a running job host's own --tor decides"
          : `--tor and --${other} contradict each other: --${other} runs without a job host, so nothing would cross Tor`,
      );
    }
  }
  return {
    inputs: all(scanned, "input").flatMap((raw) => commaList(nonEmpty("-input", raw, "a path"))),
    output: nonEmpty("-output", one(scanned, "output")!, "a folder path"),
    numReduceTasks,
    conf: Object.fromEntries(conf),
    // With --job-host, 0 makes no tickets: the job's cluster comes from a board (tormr host --request).
    workers:
      rawWorkers === undefined
        ? undefined
        : wholeNumber("--workers", rawWorkers, scanned.values.has("job-host") ? 0 : 1, MAX_WORKERS),
    seal: !scanned.values.has("no-seal"),
    local: scanned.values.has("local") || scanned.values.has("no-seal"),
    sandbox: sandboxKind(one(scanned, "sandbox")),
    jobHost:
      one(scanned, "job-host") === undefined
        ? undefined
        : nonEmpty("--job-host", one(scanned, "job-host") as string, "a folder path"),
    tor,
    warnings: [],
  };
}

const SANDBOXES = ["none", "bwrap", "docker"] as const;

function sandboxKind(raw: string | undefined): (typeof SANDBOXES)[number] {
  if (raw === undefined) return "none";
  const kind = SANDBOXES.find((k) => k === raw);
  if (!kind) {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `--sandbox: expected none, bwrap or docker, got '${raw}'`,
    );
  }
  return kind;
}

function unexpected(positional: ScannedArgs["positionals"][number], command: string): UsageError {
  const after = positional.after;
  const quoteHint =
    after !== undefined && after.flag.value === "<cmd>"
      ? `quote the whole command: ${after.flag.spelling} '${after.value} ${positional.value}'`
      : `see tormr ${command} --help`;
  return new UsageError(
    "ERR_UNEXPECTED_ARGUMENT",
    `unexpected argument '${positional.value}'`,
    quoteHint,
  );
}

/** `tormr streaming …`; `command` names the command in hints (`jar` when called through it). */
export function parseStreamingArgs(
  argv: readonly string[],
  command = "streaming",
): StreamingArgs | HelpRequest {
  if (wantsHelp(argv)) return { command: "help" };
  const scanned = scanArgs(argv, STREAMING_FLAGS, command);
  const stray = scanned.positionals[0];
  if (stray !== undefined) throw unexpected(stray, command);
  checkCounts(scanned, STREAMING_FLAGS, command);
  const common = commonArgs(scanned);

  const mapper = nonEmpty("-mapper", one(scanned, "mapper")!, "a command");
  const rawCombiner = one(scanned, "combiner");
  const rawReducer = one(scanned, "reducer");
  let combiner =
    rawCombiner === undefined ? undefined : nonEmpty("-combiner", rawCombiner, "a command");
  let reducer =
    rawReducer === undefined ? undefined : nonEmpty("-reducer", rawReducer, "a command");
  // Hadoop's StreamJob: `-reducer NONE` forces a map-only job whatever -numReduceTasks says.
  if (reducer === "NONE") {
    common.numReduceTasks = 0;
    reducer = undefined;
  }
  if (common.numReduceTasks === 0) {
    if (reducer !== undefined) {
      common.warnings.push(
        `-reducer '${reducer}' is ignored: the job is map-only (0 reduce tasks)`,
      );
      reducer = undefined;
    }
    if (combiner !== undefined) {
      common.warnings.push(
        `-combiner '${combiner}' is ignored: the job is map-only (0 reduce tasks)`,
      );
      combiner = undefined;
    }
  }

  const cmdenv = new Map<string, string>();
  for (const raw of all(scanned, "cmdenv")) {
    const [name, value] = keyValue(
      "-cmdenv",
      raw,
      ENV_NAME,
      "must be letters, digits and _, not starting with a digit",
    );
    cmdenv.set(name, value);
  }
  const files = [
    ...all(scanned, "file").map((raw) => nonEmpty("-file", raw, "a path")),
    ...all(scanned, "files").flatMap(commaList),
  ];
  return {
    ...common,
    command: "streaming",
    mapper,
    combiner,
    reducer,
    files,
    cmdenv: Object.fromEntries(cmdenv),
  };
}

/** `tormr jar <name>.jar …`: a pasted `hadoop jar hadoop-streaming.jar …` line with one word changed. */
export function parseJarArgs(argv: readonly string[]): StreamingArgs | HelpRequest {
  if (wantsHelp(argv)) return { command: "help" };
  const [jar, ...rest] = argv;
  if (jar === undefined || !/\.jar$/i.test(jar)) {
    const got = jar === undefined ? "nothing" : `'${jar}'`;
    throw new UsageError(
      "ERR_MISSING_ARGUMENT",
      `tormr jar expects a .jar file name first, got ${got}`,
      "write it as: tormr jar hadoop-streaming.jar -input <path> -output <dir> -mapper <cmd> …",
    );
  }
  return parseStreamingArgs(rest, "jar");
}

/** `tormr run <job-module> …`: the module may come before or after the flags. */
export function parseRunArgs(argv: readonly string[]): RunArgs | HelpRequest {
  if (wantsHelp(argv)) return { command: "help" };
  const scanned = scanArgs(argv, RUN_FLAGS, "run");
  const [module, stray] = scanned.positionals;
  if (stray !== undefined) throw unexpected(stray, "run");
  if (module === undefined) {
    throw new UsageError(
      "ERR_MISSING_ARGUMENT",
      "missing the job module",
      "write it as: tormr run <job-module> -input <path> -output <dir>",
    );
  }
  checkCounts(scanned, RUN_FLAGS, "run");
  return {
    ...commonArgs(scanned),
    command: "run",
    module: nonEmpty("tormr run", module.value, "a job module path"),
  };
}

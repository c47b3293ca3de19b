// Maps a Pachyderm pipeline spec, pasted in the requester console, onto a TorMR streaming job.
/**
 * Field names and meanings follow Pachyderm's "Pipeline Specification" (docs/reference/pipeline_spec.md)
 * and `CreatePipelineRequest` in src/pps/pps.proto (2.x); 1.x-only fields are recognised too.
 * As `pachctl` does (protojson), lowerCamelCase names (`parallelismSpec`) and `null` for "unset" are
 * accepted. What each part becomes, and where TorMR behaves differently:
 *
 * - One pipeline is a map-only job (`numReduceTasks` 0). A JSON array of two, where the second's
 *   `input.pfs.repo` is the first's `pipeline.name`, is a map phase then a reduce phase.
 * - `transform.cmd` is the streaming command, each word single-quoted for `/bin/sh -c`, so the program
 *   gets exactly the words Pachyderm would have passed it (Pachyderm runs cmd without a shell).
 *   Pachyderm pipes `transform.stdin` into cmd, but in TorMR stdin carries the data, so the script
 *   becomes an argument (`python3 -c '<script>'`, `sh -c`, `bash -c`, `node -e`); that needs cmd to be
 *   just the interpreter. A bare interpreter without stdin is refused: it would run the data as code.
 * - The data is not under /pfs/<input>: the mapper reads the uploaded input's lines on stdin (Hadoop
 *   Streaming), and mapper and reducer write records to stdout, not /pfs/out. Commands that mention
 *   /pfs get a warning, as they must be rewritten. Pachyderm's PACH_* and per-input variables are
 *   not set; TorMR sets `mapreduce_map_input_file` and friends instead.
 * - `input.pfs.glob` "/" (one datum): the split size is made unbounded, so one map task reads all the
 *   input. The engine still starts the mapper once per input file (each file whole on stdin), never
 *   once over all files, so a result over every file needs a reduce with glob "/" (a warning says so).
 * - "/*" (a datum per top-level file): the engine's own size-based splits (about 32 MiB of input per
 *   map task). A file up to about 35 MiB reaches one mapper process whole (small files share a task,
 *   each still with its own process); a larger file is cut at line boundaries, unlike Pachyderm. An
 *   unbounded split size would keep every file whole but put them all in one map task, losing the
 *   parallelism "/*" is chosen for. Other globs (two levels deep, `/**`, `/foo*`) are refused.
 * - The reduce pipeline does not read files the map wrote: it reads the map's stdout records, sorted
 *   and grouped by key (the text before the first tab). Its glob "/" is one reducer over all keys; "/*"
 *   is `parallelism_spec.constant` reducers (default 1) with keys spread over them by hash, where
 *   Pachyderm would give one datum per file the map pipeline chose to write.
 * - `parallelism_spec.constant` (1 to 64; 0 means unset, as in Pachyderm): the map pipeline's is the
 *   suggested cluster size (`workers`), the reduce pipeline's the number of reducers.
 * - `transform.env` becomes `-cmdenv` for every task of the job; every volunteer can read it.
 * - Ignored: `description`, `pipeline.project`, `input.pfs.{name, lazy, project}`, `input.pfs.branch`
 *   (a warning unless "master") and `transform.image` (a warning: TorMR runs its own tormr/python).
 * - Every other Pachyderm field is refused with what to do instead; other names are refused as not
 *   Pachyderm fields. All errors are collected, not just the first.
 */
import { z } from "zod";

// 1. The result.

export interface PachydermFieldError {
  /** A path into the spec: `transform.cmd[1]`, or `[1].input.pfs.glob` in the two-pipeline form. */
  field: string;
  message: string;
}

export interface PachydermJob {
  /** The pipeline whose output the job produces: the reduce pipeline's in the two-pipeline form. */
  name: string;
  mapper: string;
  reducer?: string;
  numReduceTasks: number;
  cmdenv: Record<string, string>;
  conf: Record<string, string>;
  /** The suggested cluster size, from the map pipeline's `parallelism_spec.constant`. */
  workers?: number;
}

export type PachydermResult =
  | { ok: true; job: PachydermJob; warnings: string[] }
  | { ok: false; errors: PachydermFieldError[] };

// 2. Shell quoting (POSIX single quotes: nothing inside them is special but the quote itself).

const PLAIN_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;
const RESERVED_WORDS = new Set(
  "! case do done elif else esac fi for if in then until while { } [[ ]] function select time".split(
    " ",
  ),
);

/** Quotes words for `/bin/sh -c` so that the shell hands the program exactly these words. */
export function shellQuote(words: readonly string[]): string {
  return words
    .map((word) =>
      PLAIN_WORD.test(word) && !RESERVED_WORDS.has(word)
        ? word
        : `'${word.replaceAll("'", "'\\''")}'`,
    )
    .join(" ");
}

// 3. Fields of the spec that TorMR refuses, with what to do instead.

const REMOVE = "remove it";
const RESOURCES = `volunteers' sandboxes set TorMR's own CPU and memory limits: ${REMOVE}`;
const KUBERNETES = `TorMR runs on volunteers' machines, not Kubernetes: ${REMOVE}`;
const FRESH = `TorMR always runs a fresh job over all of its input: ${REMOVE}`;
const OLD = `a Pachyderm 1.x setting with no TorMR counterpart: ${REMOVE}`;
const TIMEOUT = `TorMR takes no time limit from the spec (a task whose worker goes silent is retried elsewhere): ${REMOVE}`;
const OWN_IMAGE = `TorMR runs its own image (tormr/python) and builds or pulls none: ${REMOVE}`;
const NO_ERR_CMD = `TorMR has no error handler: a failed task is retried, and the job fails after 4 attempts; ${REMOVE}`;
const TWO_PIPELINES = "give two pipelines (map, then reduce) instead";

const UNSUPPORTED: Readonly<Record<string, string>> = {
  tf_job: "TorMR runs Hadoop Streaming commands, not Kubeflow TFJobs: use transform.cmd",
  egress: `TorMR pushes output nowhere: download it from the console, and ${REMOVE}`,
  output_branch: `TorMR has no branches: the job's output is downloaded from the console; ${REMOVE}`,
  s3_out: "TorMR has no S3 gateway: write output records to stdout, and remove s3_out",
  resource_requests: RESOURCES,
  resource_limits: RESOURCES,
  sidecar_resource_requests: RESOURCES,
  sidecar_resource_limits: RESOURCES,
  service: `TorMR runs batch jobs that end, not long-running services: ${REMOVE}`,
  spout: "TorMR reads uploaded input, not a stream: upload the data and read it with input.pfs",
  datum_set_spec: `TorMR sizes its map tasks itself (about 32 MiB of input each): ${REMOVE}`,
  chunk_spec: `TorMR sizes its map tasks itself (about 32 MiB of input each): ${REMOVE}`,
  datum_timeout: TIMEOUT,
  job_timeout: TIMEOUT,
  datum_tries: `TorMR retries a failed task up to 4 times on its own: ${REMOVE}`,
  salt: FRESH,
  reprocess: FRESH,
  reprocess_spec: FRESH,
  update: FRESH,
  dry_run: FRESH,
  spec_commit: FRESH,
  scheduling_spec: KUBERNETES,
  pod_spec: KUBERNETES,
  pod_patch: KUBERNETES,
  tolerations: KUBERNETES,
  metadata: KUBERNETES,
  autoscaling: `the cluster size comes from parallelism_spec.constant when the job is posted: ${REMOVE}`,
  determined: `TorMR has no Determined integration: ${REMOVE}`,
  standby: OLD,
  cache_size: OLD,
  enable_stats: OLD,
  max_queue_size: OLD,
  hashtree_spec: OLD,
  "transform.secrets":
    "TorMR cannot keep secrets from the volunteers who run its tasks: remove secrets, and put no credentials in the job",
  "transform.image_pull_secrets": OWN_IMAGE,
  "transform.dockerfile": OWN_IMAGE,
  "transform.build": OWN_IMAGE,
  "transform.err_cmd": NO_ERR_CMD,
  "transform.err_stdin": NO_ERR_CMD,
  "transform.accept_return_code": `TorMR counts any non-zero exit as a failed task: make the command exit 0 where it should succeed, and ${REMOVE}`,
  "transform.debug": `TorMR has no debug switch: ${REMOVE}`,
  "transform.user": `tasks run as the sandbox's own unprivileged user: ${REMOVE}`,
  "transform.working_dir": `tasks run in a working folder of their own: ${REMOVE}`,
  "transform.memory_volume": `the sandbox decides where a task's scratch space lives: ${REMOVE}`,
  "transform.datum_batching": `TorMR starts the command per piece of input and streams lines into it: ${REMOVE}`,
  "input.cross":
    "TorMR reads one input, so it cannot take a cross product: build the combined data beforehand and read it with input.pfs",
  "input.union":
    "TorMR reads one input: upload all the files as that input and read them with input.pfs",
  "input.join": `a join is what a reduce does: emit the join key as the map's output key, and ${TWO_PIPELINES}`,
  "input.group": `grouping by key is what the reduce phase does: ${TWO_PIPELINES}`,
  "input.cron": "TorMR runs a job once, when it is posted, not on a schedule: use input.pfs",
  "input.git":
    "TorMR reads uploaded input, not a git repository: upload the files and use input.pfs",
  "input.atom": "atom is the pre-1.8.1 name of pfs: rename it to input.pfs",
  "input.pfs.commit": `TorMR reads the uploaded input, not a commit: ${REMOVE}`,
  "input.pfs.repo_type": `TorMR reads the uploaded input, not a repo: ${REMOVE}`,
  "input.pfs.join_on": `only a join input uses it, and TorMR has none: ${TWO_PIPELINES}`,
  "input.pfs.outer_join": `only a join input uses it, and TorMR has none: ${TWO_PIPELINES}`,
  "input.pfs.group_by": `only a group input uses it, and TorMR has none: ${TWO_PIPELINES}`,
  "input.pfs.empty_files": `TorMR streams each file's contents to the mapper and cannot present them empty: ${REMOVE}`,
  "input.pfs.s3": `the mapper reads its input on stdin, not through an S3 gateway: ${REMOVE}`,
  "input.pfs.trigger": `TorMR runs the job once, when it is posted: ${REMOVE}`,
  "parallelism_spec.coefficient":
    "TorMR has no Kubernetes nodes to multiply: set parallelism_spec.constant (1 to 64) instead",
};

// 4. The shape of what TorMR takes.

const SPLIT_MAXSIZE = "mapreduce.input.fileinputformat.split.maxsize";
/** Interpreters that take a script as an argument, for `transform.stdin`. */
const SCRIPT_FLAG: Readonly<Record<string, string>> = {
  python3: "-c",
  python: "-c",
  sh: "-c",
  bash: "-c",
  node: "-e",
};
/** Interpreters above that tormr/python lacks (packages/sandbox/src/images.ts: python3, sh and tools). */
const NOT_IN_IMAGE: Readonly<Record<string, string>> = {
  python: '["python3"]',
  bash: '["sh"]',
  node: '["python3"] or ["sh"]',
};
/** A table's own entry: never one of Object.prototype's, whatever name the spec uses. */
function own(table: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

const PFS_PATH = /\/pfs(\/|\b)/;
const string = z.string({ error: "expected a string" });
const words = (what: string) => z.array(string, { error: `expected ${what}` });

const transformShape = {
  cmd: words('an array of strings, e.g. ["python3", "mapper.py"]').min(
    1,
    "expected at least one word: the program to run",
  ),
  stdin: words("an array of script lines (strings)").optional(),
  env: z
    .record(
      z
        .string()
        .regex(
          /^[A-Za-z_][A-Za-z0-9_]*$/,
          "expected an environment variable name (A-Z, a-z, 0-9, _)",
        ),
      string,
      { error: "expected an object of string values" },
    )
    .optional(),
  image: string.optional(),
};

const transformSchema = z
  .strictObject(transformShape, { error: 'expected an object like {"cmd": ["python3", "x.py"]}' })
  .transform((t, ctx) => {
    let failed = false;
    const fail = (path: (string | number)[], message: string) => {
      ctx.addIssue({ code: "custom", path, message });
      failed = true;
    };
    const nul = "contains a NUL character, which no command argument can hold";
    for (const [field, texts] of [["cmd", t.cmd] as const, ["stdin", t.stdin ?? []] as const]) {
      for (const [i, text] of texts.entries()) if (text.includes("\0")) fail([field, i], nul);
    }
    const script = t.stdin && t.stdin.length > 0 ? t.stdin.join("\n") : undefined;
    // The program, whatever folder it is named in.
    const program = t.cmd[0]?.split("/").at(-1) ?? "";
    const flag = t.cmd.length === 1 ? own(SCRIPT_FLAG, program) : undefined;
    if (script === undefined && flag !== undefined) {
      fail(
        ["cmd"],
        `${JSON.stringify(t.cmd)} with no transform.stdin would run the input data as code, since TorMR feeds the input on stdin: give the script in transform.stdin, or name a script file in cmd`,
      );
    }
    if (script !== undefined && flag === undefined) {
      fail(
        ["stdin"],
        `TorMR feeds the input on stdin, so the script must be passed as an argument, which works only when transform.cmd is just an interpreter (python3, python, sh, bash or node); got ${JSON.stringify(t.cmd)}: set cmd to one of those, or put the script in a file named in cmd`,
      );
    }
    if (failed) return z.NEVER;
    const command = script === undefined ? t.cmd : [t.cmd[0] ?? "", flag ?? "", script];
    return {
      command: shellQuote(command),
      env: t.env ?? {},
      image: t.image,
      readsPfs: [...t.cmd, ...(t.stdin ?? [])].some((text) => PFS_PATH.test(text)),
      missingProgram: own(NOT_IN_IMAGE, program) === undefined ? undefined : program,
    };
  });

const pfsShape = {
  repo: z
    .string({ error: "expected the input repo's name" })
    .min(1, "expected the input repo's name"),
  glob: z
    .string({ error: "expected '/' or '/*'" })
    .refine((glob) => glob === "/" || glob === "/*", {
      error: (issue) =>
        `'${String(issue.input)}' is not supported: TorMR takes '/' (all the input as one datum) or '/*' (a datum per top-level file)`,
    }),
  branch: string.optional(),
  name: string.optional(),
  lazy: z.boolean({ error: "expected true or false" }).optional(),
  project: string.optional(),
};
const pfsSchema = z.strictObject(pfsShape, {
  error: 'expected an object like {"repo": "data", "glob": "/*"}',
});

const inputShape = { pfs: pfsSchema.optional() };
const inputSchema = z
  .strictObject(inputShape, { error: 'expected an object like {"pfs": {…}}' })
  // Runs only when input has no refused keys, so that `input.cross` alone is one error, not two.
  .refine((input) => input.pfs !== undefined, {
    message: 'required: expected {"repo": "…", "glob": "/" or "/*"}',
    path: ["pfs"],
  });

const WORKERS = "expected a whole number from 1 to 64";
const parallelismShape = {
  // protojson writes uint64 as a string ("10"), and takes either.
  constant: z
    .union([z.number(), z.string()], { error: WORKERS })
    .transform((given, ctx) => {
      const n = typeof given === "string" && /^[0-9]+$/.test(given) ? Number(given) : given;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 64) {
        ctx.addIssue({ code: "custom", message: `${WORKERS}, got ${JSON.stringify(given)}` });
        return z.NEVER;
      }
      return n === 0 ? undefined : n;
    })
    .optional(),
};

const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,48}[A-Za-z0-9])?$/;
const pipelineShape = {
  name: string.regex(
    NAME,
    "expected 1 to 50 letters, digits, _ and -, starting and ending with a letter or digit",
  ),
  project: z
    .strictObject({ name: string }, { error: 'expected an object like {"name": "…"}' })
    .optional(),
};

const specShape = {
  pipeline: z.strictObject(pipelineShape, {
    error: 'expected an object like {"name": "wordcount"}',
  }),
  transform: transformSchema,
  input: inputSchema,
  parallelism_spec: z
    .strictObject(parallelismShape, { error: 'expected an object like {"constant": 4}' })
    .optional(),
  description: string.optional(),
};
const specSchema = z.strictObject(specShape, { error: "expected a pipeline object" });

/** Every field name TorMR knows at each level it reads into, refused ones included. */
const KNOWN_FIELDS = new Map<string, Set<string>>([
  ["", new Set(Object.keys(specShape))],
  ["pipeline", new Set(Object.keys(pipelineShape))],
  ["transform", new Set(Object.keys(transformShape))],
  ["input", new Set(Object.keys(inputShape))],
  ["input.pfs", new Set(Object.keys(pfsShape))],
  ["parallelism_spec", new Set(Object.keys(parallelismShape))],
]);
for (const field of Object.keys(UNSUPPORTED)) {
  const dot = field.lastIndexOf(".");
  KNOWN_FIELDS.get(dot < 0 ? "" : field.slice(0, dot))?.add(field.slice(dot + 1));
}

// 5. From the parsed spec to field errors, and to one phase of the job.

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** protojson's spellings made canonical: lowerCamelCase names to snake_case, and null (unset) dropped. */
function canonical(value: unknown, level = ""): unknown {
  const known = KNOWN_FIELDS.get(level);
  if (!isObject(value) || known === undefined) return value;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== null)
    .map(([key, v]) => {
      const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
      const name = known.has(snake) ? snake : key;
      return [name, canonical(v, level === "" ? name : `${level}.${name}`)] as const;
    });
  return Object.fromEntries(entries);
}

function fieldName(path: readonly PropertyKey[]): string {
  return path
    .map((part, i) =>
      typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`,
    )
    .join("");
}

function within(prefix: string, field: string): string {
  if (prefix === "") return field === "" ? "spec" : field;
  return field === "" ? prefix : `${prefix}.${field}`;
}

function shown(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (isObject(value)) return "an object";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function fieldErrors(issues: readonly z.core.$ZodIssue[], root: unknown, prefix: string) {
  return issues.flatMap((issue): PachydermFieldError[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const field = fieldName([...issue.path, key]);
        const message = own(UNSUPPORTED, field) ?? "not a Pachyderm pipeline field";
        return { field: within(prefix, field), message };
      });
    }
    let message = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? "") : issue.message;
    if (issue.code === "invalid_type" || issue.code === "invalid_union") {
      const value = valueAt(root, issue.path);
      message = value === undefined ? `required: ${message}` : `${message}, got ${shown(value)}`;
    }
    return [{ field: within(prefix, fieldName(issue.path)), message }];
  });
}

type Spec = z.output<typeof specSchema>;

function parsePipeline(raw: unknown, prefix: string, errors: PachydermFieldError[]) {
  const spec = canonical(raw);
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    errors.push(...fieldErrors(parsed.error.issues, spec, prefix));
    return undefined;
  }
  // zod drops this key from a record without a word; say so instead.
  const env = valueAt(spec, ["transform", "env"]);
  if (isObject(env) && Object.hasOwn(env, "__proto__")) {
    errors.push({
      field: within(prefix, "transform.env.__proto__"),
      message: "not usable as an environment variable name here",
    });
    return undefined;
  }
  return parsed.data;
}

function phaseWarnings(spec: Spec, prefix: string, role: "mapper" | "reducer"): string[] {
  const at = (field: string) => within(prefix, field);
  const { transform, input } = spec;
  const warnings: string[] = [];
  if (transform.image !== undefined) {
    warnings.push(
      `${at("transform.image")}: TorMR runs its own image (tormr/python); '${transform.image}' is ignored`,
    );
  }
  if (transform.missingProgram !== undefined) {
    warnings.push(
      `${at("transform.cmd")}: tormr/python has python3 and sh but no ${transform.missingProgram}, so the task will fail with 'not found': use ${own(NOT_IN_IMAGE, transform.missingProgram)}`,
    );
  }
  if (transform.readsPfs) {
    warnings.push(
      `${at("transform")}: mentions /pfs, but TorMR has no /pfs folder: the ${role} reads its input on stdin and writes its records to stdout`,
    );
  }
  if (input.pfs?.branch !== undefined && input.pfs.branch !== "master") {
    warnings.push(
      `${at("input.pfs.branch")}: TorMR reads the uploaded input; branch '${input.pfs.branch}' is ignored`,
    );
  }
  return warnings;
}

// 6. The text: JSON only, with the place where it stops being JSON.

const MAX_SPEC_CHARS = 256 * 1024;
const WHITESPACE = " \t\n\r";
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})/y;

interface SyntaxFault {
  at: number;
  expected: string;
}

/** The end of the string or literal starting at `i`, or what should have been there. */
function scalarEnd(text: string, i: number): number | SyntaxFault {
  if (text.charAt(i) === '"') {
    for (let j = i + 1; j < text.length; ) {
      const c = text.charCodeAt(j);
      if (c === 0x22) return j + 1;
      if (c < 0x20) return { at: j, expected: "no raw control character in a string (write \\n)" };
      if (c !== 0x5c) j++;
      else {
        ESCAPE.lastIndex = j;
        if (!ESCAPE.test(text))
          return { at: j, expected: 'an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX' };
        j = ESCAPE.lastIndex;
      }
    }
    return { at: text.length, expected: "a closing '\"'" };
  }
  NUMBER.lastIndex = i;
  if (NUMBER.test(text)) return NUMBER.lastIndex;
  const literal = ["true", "false", "null"].find((word) => text.startsWith(word, i));
  return literal ? i + literal.length : { at: i, expected: "a value" };
}

/**
 * Where JSON.parse gave up, by RFC 8259's grammar: Node 20's messages often leave the position out.
 * Iterative, so that deep nesting cannot overflow the stack.
 */
function syntaxFault(text: string): SyntaxFault | undefined {
  const open: string[] = [];
  let want: "value" | "value or ]" | "key" | "key or }" | ":" | "next" = "value";
  let i = 0;
  for (;;) {
    while (i < text.length && WHITESPACE.includes(text.charAt(i))) i++;
    const close = open.at(-1) === "{" ? "}" : "]";
    const c = text.charAt(i);
    if (want === "next" && open.length === 0) {
      return i < text.length ? { at: i, expected: "the end of the text" } : undefined;
    }
    if (want === "next") {
      if (c === ",") want = close === "}" ? "key" : "value";
      else if (c === close) open.pop();
      else return { at: i, expected: `',' or '${close}'` };
      i++;
    } else if (want === ":") {
      if (c !== ":") return { at: i, expected: "':'" };
      want = "value";
      i++;
    } else if ((want === "key or }" && c === "}") || (want === "value or ]" && c === "]")) {
      open.pop();
      want = "next";
      i++;
    } else if (want === "key" || want === "key or }") {
      if (c !== '"')
        return {
          at: i,
          expected: `a double-quoted property name${want === "key" ? "" : " or '}'"}`,
        };
      const end = scalarEnd(text, i);
      if (typeof end !== "number") return end;
      want = ":";
      i = end;
    } else if (c === "{" || c === "[") {
      open.push(c);
      want = c === "{" ? "key or }" : "value or ]";
      i++;
    } else {
      const end = scalarEnd(text, i);
      if (typeof end !== "number") return end;
      want = "next";
      i = end;
    }
  }
}

function place(text: string, at: number): string {
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  return `line ${line}, column ${at - before.lastIndexOf("\n")} (position ${at})`;
}

function parseJson(
  text: string,
): { ok: true; value: unknown } | { ok: false; error: PachydermFieldError } {
  const refuse = (message: string) => ({ ok: false as const, error: { field: "spec", message } });
  if (text.length > MAX_SPEC_CHARS) {
    return refuse(`is ${text.length} characters long; expected at most ${MAX_SPEC_CHARS}`);
  }
  const start = text.search(/\S/);
  if (start < 0) return refuse("expected a JSON pipeline spec, got empty text");
  if (text.charAt(start) !== "{" && text.charAt(start) !== "[") {
    return refuse(
      `expected a JSON pipeline spec, starting with '{' or '[', got '${text.charAt(start)}' at ${place(text, start)}; TorMR does not read YAML: convert the spec to JSON`,
    );
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    const fault = syntaxFault(text);
    const reason = fault
      ? `expected ${fault.expected} at ${place(text, fault.at)}`
      : (error as Error).message;
    return refuse(`expected a JSON pipeline spec, but it is not valid JSON: ${reason}`);
  }
}

// 7. The mapping.

/**
 * Maps a Pachyderm pipeline spec (one pipeline, or an array of a map and a reduce pipeline) onto a
 * TorMR streaming job, or says what is wrong with every field it cannot take.
 */
export function mapPachydermSpec(text: string): PachydermResult {
  const json = parseJson(text);
  if (!json.ok) return { ok: false, errors: [json.error] };
  const pair = Array.isArray(json.value);
  const given: unknown[] = Array.isArray(json.value) ? json.value : [json.value];
  if (!pair && !isObject(json.value)) {
    const message = `expected a pipeline object, or an array of two (map, then reduce), got ${shown(json.value)}`;
    return { ok: false, errors: [{ field: "spec", message }] };
  }
  if (given.length < 1 || given.length > 2) {
    const message = `expected one pipeline, or two (map, then reduce), got ${given.length}`;
    return { ok: false, errors: [{ field: "spec", message }] };
  }
  const errors: PachydermFieldError[] = [];
  const prefixes = given.map((_, i) => (pair ? `[${i}]` : ""));
  const specs = given.map((raw, i) => parsePipeline(raw, prefixes[i] ?? "", errors));
  const [map, reduce] = specs;
  if (map && reduce && reduce.input.pfs?.repo !== map.pipeline.name) {
    errors.push({
      field: "[1].input.pfs.repo",
      message: `expected '${map.pipeline.name}', the first pipeline's name: the reduce pipeline reads the map pipeline's output, got '${reduce.input.pfs?.repo}'`,
    });
  }
  const cmdenv: Record<string, string> = {};
  for (const [i, spec] of specs.entries()) {
    for (const [key, value] of Object.entries(spec?.transform.env ?? {})) {
      if (Object.hasOwn(cmdenv, key) && cmdenv[key] !== value) {
        errors.push({
          field: within(prefixes[i] ?? "", `transform.env.${key}`),
          message: `the map pipeline sets it to ${JSON.stringify(cmdenv[key])}, but TorMR gives one environment to every task of a job: use one value, or two names`,
        });
      }
      cmdenv[key] = value;
    }
  }
  if (errors.length > 0 || !map) return { ok: false, errors };

  const warnings = specs.flatMap((spec, i) =>
    spec ? phaseWarnings(spec, prefixes[i] ?? "", i === 0 ? "mapper" : "reducer") : [],
  );
  const at = (i: number, field: string) => within(prefixes[i] ?? "", field);
  if (Object.keys(cmdenv).length > 0) {
    warnings.push(
      "transform.env: every volunteer who runs a task can read it; put no secrets in it",
    );
  }
  const mapGlob = map.input.pfs?.glob;
  if (mapGlob === "/") {
    warnings.push(
      `${at(0, "input.pfs.glob")}: '/' makes all the input one map task, but TorMR starts the mapper once per uploaded file, so a result over every file needs a reduce pipeline with glob '/'`,
    );
  }
  let numReduceTasks = 0;
  if (reduce) {
    const constant = reduce.parallelism_spec?.constant;
    numReduceTasks = reduce.input.pfs?.glob === "/" ? 1 : (constant ?? 1);
    if (reduce.input.pfs?.glob === "/" && constant !== undefined && constant > 1) {
      warnings.push(
        `${at(1, "parallelism_spec.constant")}: glob '/' is one datum, so one reducer; ${constant} is ignored (use glob '/*' for ${constant} reducers)`,
      );
    }
  }
  const workers = map.parallelism_spec?.constant;
  const job: PachydermJob = {
    name: (reduce ?? map).pipeline.name,
    mapper: map.transform.command,
    ...(reduce ? { reducer: reduce.transform.command } : {}),
    numReduceTasks,
    cmdenv,
    conf: mapGlob === "/" ? { [SPLIT_MAXSIZE]: String(Number.MAX_SAFE_INTEGER) } : {},
    ...(workers !== undefined ? { workers } : {}),
  };
  return { ok: true, job, warnings };
}

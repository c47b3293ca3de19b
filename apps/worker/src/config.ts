// The volunteer's settings: an optional JSON config file, then flags over it, each checked with zod.
import { readFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { z } from "zod";

/** The project's standard images, built locally from host files (see @tormr/sandbox/images). */
export const STANDARD_IMAGES = ["tormr/python", "tormr/node"] as const;

export const CONFIG_FILE = "config.json";

const MIB = 1024 * 1024;

const intIn = (min: number, max: number) => {
  const error = `expected an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};

/** A Docker image name, with an optional registry and tag (no digest: the allow-list names tags). */
const IMAGE_NAME =
  /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::\w[\w.-]{0,127})?$/;

const fields = {
  slots: intIn(1, 64),
  memoryMb: intIn(64, 1024 * 1024),
  cpus: z
    .number({ error: "expected a number of CPUs above 0, at most 1024" })
    .gt(0, { error: "expected a number of CPUs above 0, at most 1024" })
    .max(1024, { error: "expected a number of CPUs above 0, at most 1024" }),
  pids: intIn(16, 1 << 22),
  sandbox: z.enum(["auto", "docker", "bwrap"], { error: "expected 'auto', 'docker' or 'bwrap'" }),
  dockerHost: z
    .string({ error: "expected a DOCKER_HOST URL such as unix:///run/docker.sock" })
    .regex(/^(unix|tcp|ssh|fd):\/\/./, {
      error: "expected a DOCKER_HOST URL such as unix:///run/docker.sock",
    }),
  workDir: z
    .string({ error: "expected an absolute path" })
    .refine(isAbsolute, { error: "expected an absolute path" }),
  diskQuotaMb: intIn(0, 1 << 30),
  allowImages: z
    .array(
      z.string({ error: "expected an image name such as tormr/python" }).regex(IMAGE_NAME, {
        error: "expected an image name such as tormr/python",
      }),
      { error: 'expected a list of image names, e.g. ["tormr/python"]' },
    )
    .min(1, { error: "expected at least one image name; a worker that allows none runs nothing" }),
};

const fileSchema = z.strictObject(fields).partial();
export type ConfigField = keyof typeof fields;
export const CONFIG_FIELDS = Object.keys(fields) as ConfigField[];

export interface WorkerConfig {
  slots: number;
  memoryMb: number;
  cpus: number;
  pids: number;
  sandbox: "auto" | "docker" | "bwrap";
  dockerHost?: string;
  workDir: string;
  diskQuotaMb: number;
  allowImages: string[];
  /** The config file that was (or would have been) read: error messages point there. */
  configPath: string;
}

/** Flags as typed on the command line, before they are checked. */
export type ConfigFlags = Partial<Record<Exclude<ConfigField, "allowImages">, string>>;

/** The flag that sets each field. */
export const FLAG_OF: Record<Exclude<ConfigField, "allowImages">, string> = {
  slots: "--slots",
  memoryMb: "--memory-mb",
  cpus: "--cpus",
  pids: "--pids",
  sandbox: "--sandbox",
  dockerHost: "--docker-host",
  workDir: "--work-dir",
  diskQuotaMb: "--disk-quota-mb",
};

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    /** ERR_BAD_FLAG is a usage error; the others are about the file. */
    readonly code: "ERR_CONFIG_READ" | "ERR_CONFIG_JSON" | "ERR_CONFIG_FIELD" | "ERR_BAD_FLAG",
    message: string,
  ) {
    super(message);
  }
}

export interface LoadConfigOptions {
  /** The config file; it must exist when `explicit` (given with --config), else it is optional. */
  path: string;
  explicit: boolean;
  flags?: ConfigFlags;
  /** Relative --work-dir values are resolved against it. */
  cwd: string;
  /** The default work folder: `$XDG_CACHE_HOME/tormr-worker`. */
  defaultWorkDir: string;
}

/** The settings: defaults, then the file, then the flags. @throws ConfigError naming the field. */
export async function loadConfig(options: LoadConfigOptions): Promise<WorkerConfig> {
  const fromFile = await readConfigFile(options.path, options.explicit);
  const fromFlags = parseConfigFlags(options.flags ?? {}, options.cwd);
  return {
    slots: 1,
    memoryMb: 512,
    cpus: 1,
    pids: 128,
    sandbox: "auto",
    workDir: options.defaultWorkDir,
    diskQuotaMb: 10240,
    allowImages: [...STANDARD_IMAGES],
    ...fromFile,
    ...fromFlags,
    configPath: options.path,
  };
}

type Settings = z.infer<typeof fileSchema>;

async function readConfigFile(path: string, explicit: boolean): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !explicit) return {};
    const why = code === "ENOENT" ? "no such file; create it (`{}` is a valid config)" : code;
    throw new ConfigError("ERR_CONFIG_READ", `cannot read config ${path}: ${why}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      "ERR_CONFIG_JSON",
      `config ${path} is not valid JSON (${(error as Error).message})`,
    );
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ConfigError(
      "ERR_CONFIG_JSON",
      `config ${path}: expected a JSON object of settings, got ${describe(json)}`,
    );
  }
  const parsed = fileSchema.safeParse(json);
  if (parsed.success) return dropUndefined(parsed.data);
  const issue = parsed.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    throw new ConfigError(
      "ERR_CONFIG_FIELD",
      `config ${path}: unknown field '${issue.keys[0]}'; the fields are ${CONFIG_FIELDS.join(", ")}`,
    );
  }
  const field = issue.path.map(String).join(".");
  const got = describe(valueAt(json, issue.path));
  throw new ConfigError(
    "ERR_CONFIG_FIELD",
    `config ${path}: ${field}: ${issue.message}, got ${got}`,
  );
}

const NUMERIC = new Set<ConfigField>(["slots", "memoryMb", "cpus", "pids", "diskQuotaMb"]);

/** The flags' settings alone; callers may check flags early, before anything is read. */
export function parseConfigFlags(flags: ConfigFlags, cwd: string): Partial<WorkerConfig> {
  const settings: Settings = {};
  for (const [field, raw] of Object.entries(flags) as [keyof ConfigFlags, string | undefined][]) {
    if (raw === undefined) continue;
    const schema = fields[field];
    let value: unknown = raw;
    if (field === "workDir") value = resolve(cwd, raw);
    else if (NUMERIC.has(field)) value = /^\s*[0-9.eE+-]+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const message = parsed.error.issues[0]?.message ?? "bad value";
      throw new ConfigError("ERR_BAD_FLAG", `${FLAG_OF[field]}: ${message}, got '${raw}'`);
    }
    Object.assign(settings, { [field]: parsed.data });
  }
  return settings;
}

function dropUndefined(settings: Settings): Settings {
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key];
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** Per-task sandbox limits from the settings. */
export function taskLimits(config: WorkerConfig) {
  return {
    memoryBytes: config.memoryMb * MIB,
    cpus: config.cpus,
    pids: config.pids,
    // Scratch space inside the sandbox only; it counts against the task's memory.
    tmpfsBytes: 64 * MIB,
  };
}

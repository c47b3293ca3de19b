// Runs a JS job's map, combine or reduce as a Hadoop Streaming program, so the job's code runs in the sandbox like any other.
//
//   node js-runner.mjs <map|map-combine|combine|reduce> <module file>
//
// `map-combine` is the map with its output combined in the mapper, as the engine does in process;
// `combine` is a Hadoop-style combiner over sorted records.
// Shipped into the job's code bundle beside the module, so it imports node builtins only. Each role
// mirrors the engine's in-process path (packages/mapreduce: js-map.ts, reduce-task.ts, key-groups.ts,
// task-env.ts): the same lines, the same records, the same checks and error messages.
// Exit codes: 0 done; 1 the job's code threw or emitted a bad record; 2 bad usage or
// environment; 3 the module failed to load or lacks the function.
import { Console } from "node:console";
import { once } from "node:events";
import { resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { pathToFileURL } from "node:url";
import { inspect } from "node:util";

const ROLES = ["map", "map-combine", "combine", "reduce"];
const USAGE = "usage: node js-runner.mjs <map|map-combine|combine|reduce> <module file>";
/** The job's `-D` configuration as JSON, exactly: Hadoop's underscored env names lose the keys' dots. */
const CONF_ENV = "TORMR_JOB_CONF";
/** Output is written in pieces of about this many characters, each a run of whole records. */
const FLUSH_AT = 128 * 1024;

/** Named and coded as the engine's errors; `exitCode` says which of the codes above the runner ends with. */
class MapReduceError extends Error {
  name = "MapReduceError";
  constructor(code, message, exitCode, options) {
    super(message, options);
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The engine's ERR_BAD_RECORD, with its wording (js-job.ts checkKey and checkValue). */
const badRecord = (message) => new MapReduceError("ERR_BAD_RECORD", message, 1);

function checkKey(key) {
  if (key.includes("\t") || key.includes("\n")) {
    throw badRecord(
      `emit(${JSON.stringify(key).slice(0, 60)}, …): a key may hold no TAB or newline`,
    );
  }
}

function checkValue(value) {
  if (value.length === 1 ? value.charCodeAt(0) === 10 : value.includes("\n")) {
    throw badRecord(`emit(…, ${JSON.stringify(value).slice(0, 60)}): a value may hold no newline`);
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII on purpose.
const NON_ASCII = /[^\x00-\x7f]/;

/** The text a byte string (latin1 chars = bytes) encodes as UTF-8, as byte-string.ts decodes it. */
function fromByteString(bytes) {
  return NON_ASCII.test(bytes) ? Buffer.from(bytes, "latin1").toString("utf8") : bytes;
}

/** Records to stdout in large writes of whole lines, waiting while the pipe is full. */
class Output {
  text = "";
  records = 0;
  bytes = 0;

  constructor(stream) {
    this.stream = stream;
    // A closure, as the job's code calls it unbound.
    this.emit = (key, value) => {
      const k = typeof key === "string" ? key : String(key);
      const v = typeof value === "string" ? value : String(value);
      checkKey(k);
      checkValue(v);
      this.text += `${k}\t${v}\n`;
      this.records++;
    };
  }

  get full() {
    return this.text.length >= FLUSH_AT;
  }

  async flush() {
    if (this.text.length === 0) return;
    // Cut only between records, so no UTF-16 surrogate pair is split into two writes.
    const bytes = Buffer.from(this.text);
    this.text = "";
    this.bytes += bytes.length;
    if (!this.stream.write(bytes)) await once(this.stream, "drain");
  }

  async close() {
    await this.flush();
    await new Promise((done, fail) =>
      this.stream.write("", (error) => (error ? fail(error) : done())),
    );
  }
}

/**
 * `ctx.counter` totals, reported once at exit: the engine only sums them, and one stderr line per
 * call would cost more than a job that counts every line does in the first place.
 */
class Counters {
  totals = new Map();

  add(group, name, amount) {
    const g = String(group);
    const n = String(name);
    // `reporter:counter:<group>,<name>,<amount>` is cut at the first comma and at newlines.
    if (g.includes(",") || g.includes("\n") || n.includes("\n")) {
      throw new TypeError(
        `ctx.counter(${JSON.stringify(g)}, ${JSON.stringify(n)}): a group may hold no comma, and neither a newline`,
      );
    }
    if (typeof amount !== "number" || !Number.isFinite(amount)) {
      throw new TypeError(
        `ctx.counter(${JSON.stringify(g)}, ${JSON.stringify(n)}, ${String(amount)}): expected a finite number`,
      );
    }
    const key = `${g},${n}`;
    this.totals.set(key, (this.totals.get(key) ?? 0) + amount);
  }

  lines() {
    let text = "";
    for (const [key, total] of this.totals) text += `reporter:counter:${key},${total}\n`;
    return text;
  }
}

function readConf(env) {
  const raw = env[CONF_ENV];
  if (raw === undefined) return {};
  let conf;
  try {
    conf = JSON.parse(raw);
  } catch {}
  const ok =
    conf !== null &&
    typeof conf === "object" &&
    !Array.isArray(conf) &&
    Object.values(conf).every((v) => typeof v === "string");
  if (!ok) {
    throw new MapReduceError(
      "ERR_BAD_ENV",
      `${CONF_ENV}: expected a JSON object of strings, got ${JSON.stringify(raw.slice(0, 60))}`,
      2,
    );
  }
  return conf;
}

/** The `ctx` of task-env.ts jobContext, from what taskEnvironment gives a streaming program. */
function jobContext(role, env, counters) {
  return {
    jobId: env.mapreduce_job_id ?? "",
    taskId: env.mapreduce_task_id ?? "",
    attemptId: env.mapreduce_task_attempt_id ?? "",
    // A streaming combiner runs over a whole spill, not one input file: it gets none.
    inputFile: role.startsWith("map") ? (env.mapreduce_map_input_file ?? "") : "",
    partition: Number(env.mapreduce_task_partition ?? "0"),
    conf: readConf(env),
    counter: (group, name, amount = 1) => counters.add(group, name, amount),
    status: (message) => {
      // One stderr line per status; a newline inside would end it early.
      process.stderr.write(`reporter:status:${String(message).replaceAll("\n", " ")}\n`);
    },
  };
}

/** The module's functions `names`, checked as js-job.ts loadJobModule checks them. */
async function loadJob(file, names) {
  const path = resolve(file);
  let loaded;
  try {
    loaded = await import(pathToFileURL(path).href);
  } catch (error) {
    const message = `job module ${path} failed to load: ${error?.message ?? String(error)}`;
    throw new MapReduceError("ERR_BAD_JOB_MODULE", message, 3, { cause: error });
  }
  // As js-job.ts loadJobModule: a default export stands in for missing named ones.
  const mod = loaded.default && typeof loaded.map !== "function" ? loaded.default : loaded;
  // `map` is required whatever the role, as the engine requires it of every JS job.
  for (const name of new Set(["map", ...names])) {
    const fn = mod[name];
    if (typeof fn !== "function") {
      throw new MapReduceError(
        "ERR_BAD_JOB_MODULE",
        `job module ${path} must export a function '${name}', got ${fn === undefined ? "nothing" : typeof fn}`,
        3,
      );
    }
  }
  return names.map((name) => mod[name]);
}

/**
 * As js-map.ts: UTF-8 text lines (bad bytes become U+FFFD), each without its '\n' or "\r\n",
 * through `map`; `afterChunk` runs once each chunk's lines are done.
 */
async function runMap(map, input, emit, ctx, out, afterChunk) {
  const decoder = new StringDecoder("utf8");
  let carry = "";
  const mapLine = async (raw) => {
    const result = map(raw.endsWith("\r") ? raw.slice(0, -1) : raw, emit, ctx);
    if (result !== undefined && result instanceof Promise) await result;
  };
  for await (const chunk of input) {
    const text = carry + decoder.write(chunk);
    const lines = text.split("\n");
    carry = lines.pop();
    const crlf = text.includes("\r");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i];
      // Inlined rather than `await mapLine(raw)`, so a sync map costs no promise per line.
      const result = map(crlf && raw.endsWith("\r") ? raw.slice(0, -1) : raw, emit, ctx);
      if (result !== undefined && result instanceof Promise) await result;
      if (out.full) await out.flush();
    }
    if (afterChunk) await afterChunk();
  }
  // The engine always ends a segment with a newline; run by hand, a last bare line still counts.
  const rest = carry + decoder.end();
  if (rest.length > 0) await mapLine(rest);
}

/** V8's rough cost of a buffered key, as js-map.ts counts it, so the buffer fills as the engine's does. */
const GROUP_COST = 120;
/** The size of the engine's reads of an input file (input-reader.ts), where it checks its buffer. */
const READ_SIZE = 256 * 1024;
const TASK_GROUP = "org.apache.hadoop.mapreduce.TaskCounter";
const DEFAULT_SORT_MB = 100;

/**
 * `input` cut into pieces of exactly `size` bytes (the last may be shorter), as the engine reads
 * a file. One case it cannot mirror: where a file lacks its last newline, the engine adds one as
 * a chunk of its own, while here it is part of the last piece (so one check fewer).
 */
async function* rechunk(input, size) {
  let pieces = [];
  let length = 0;
  for await (const chunk of input) {
    let rest = chunk;
    while (length + rest.length >= size) {
      pieces.push(rest.subarray(0, size - length));
      rest = rest.subarray(size - length);
      yield Buffer.concat(pieces);
      pieces = [];
      length = 0;
    }
    if (rest.length > 0) {
      pieces.push(rest);
      length += rest.length;
    }
  }
  if (length > 0) yield Buffer.concat(pieces);
}

/**
 * The values of `pending`: the first value `repeats` times, then the others in emit order, as
 * js-map.ts iteratePending hands them to `combine`.
 */
function iteratePending(pending) {
  return {
    [Symbol.asyncIterator]() {
      let repeats = pending.repeats;
      let i = 0;
      const others = pending.others ?? [];
      const result = { value: pending.first, done: false };
      return {
        next() {
          if (repeats > 0) repeats--;
          else if (i < others.length) result.value = others[i++];
          else Object.assign(result, { value: undefined, done: true });
          return result;
        },
      };
    },
  };
}

/**
 * The map with its output combined in this process, as the engine runs a JS job's `combine`:
 * emits buffered per key, and `combine` run over the buffer when it passes the sort budget and
 * at the end. The engine sees only the combined records, so the map-side counters it cannot
 * count (records and bytes before the combine, combine input and output) are reported here.
 */
async function runMapCombine(map, combine, input, out, ctx, counters, budget) {
  let buffered = new Map();
  let bufferedBytes = 0;
  let emitted = 0;
  let emittedBytes = 0;
  const emit = (key, value) => {
    const k = typeof key === "string" ? key : String(key);
    const v = typeof value === "string" ? value : String(value);
    checkValue(v);
    const pending = buffered.get(k);
    if (pending === undefined) {
      checkKey(k);
      const keyBytes = Buffer.byteLength(k);
      const firstBytes = Buffer.byteLength(v);
      buffered.set(k, { first: v, repeats: 1, others: undefined, keyBytes, firstBytes });
      bufferedBytes += GROUP_COST + k.length * 2 + v.length * 2;
      emittedBytes += keyBytes + firstBytes + 2;
    } else if (v === pending.first) {
      pending.repeats++;
      emittedBytes += pending.keyBytes + pending.firstBytes + 2;
    } else {
      if (pending.others === undefined) pending.others = [v];
      else pending.others.push(v);
      bufferedBytes += v.length <= 1 ? 8 : 32 + v.length * 2;
      emittedBytes += pending.keyBytes + Buffer.byteLength(v) + 2;
    }
    emitted++;
  };
  const flush = async () => {
    const groups = buffered;
    buffered = new Map();
    bufferedBytes = 0;
    let inRecords = 0;
    const before = out.records;
    for (const [key, pending] of groups) {
      inRecords += pending.repeats + (pending.others?.length ?? 0);
      const result = combine(key, iteratePending(pending), out.emit, ctx);
      if (result != null && typeof result.then === "function") await result;
      if (out.full) await out.flush();
    }
    counters.add(TASK_GROUP, "COMBINE_INPUT_RECORDS", inRecords);
    counters.add(TASK_GROUP, "COMBINE_OUTPUT_RECORDS", out.records - before);
  };
  const afterChunk = () => (bufferedBytes >= budget ? flush() : undefined);
  await runMap(map, rechunk(input, READ_SIZE), emit, ctx, out, afterChunk);
  await flush();
  await out.flush();
  // The engine counts the records and bytes it reads from stdout; these make its totals the
  // map's own output, before the combine, as in process.
  counters.add(TASK_GROUP, "MAP_OUTPUT_RECORDS", emitted - out.records);
  counters.add(TASK_GROUP, "MAP_OUTPUT_BYTES", emittedBytes - out.bytes);
}

/** The sort budget in bytes, from the configuration as job-spec.ts reads it. */
function sortBudget(conf, env) {
  const raw = conf["mapreduce.task.io.sort.mb"] ?? env.mapreduce_task_io_sort_mb;
  const mb = raw !== undefined && /^[0-9]+$/.test(raw.trim()) ? Number(raw) : DEFAULT_SORT_MB;
  return (mb >= 1 ? mb : DEFAULT_SORT_MB) * 1024 * 1024;
}

/** Sorted `key<TAB>value` lines as byte strings, one key at a time, as key-groups.ts walks them. */
class KeyGroups {
  lines = [];
  i = 0;
  carry = "";
  ended = false;
  /** @type {string | undefined} */
  current = undefined;

  constructor(input) {
    this.source = input[Symbol.asyncIterator]();
  }

  /** Makes `lines[i]` the next unread line; false at the end of the input. */
  async fill() {
    while (this.i >= this.lines.length) {
      if (this.ended) return false;
      const next = await this.source.next();
      this.i = 0;
      if (next.done) {
        this.ended = true;
        // A last line without its newline is still a record (byte-string.ts LineSplitter).
        this.lines = this.carry.length > 0 ? [this.carry] : [];
        continue;
      }
      this.lines = (this.carry + next.value.toString("latin1")).split("\n");
      this.carry = this.lines.pop();
    }
    return true;
  }

  /** Whether `line`'s key (up to its first TAB, or all of it) is the current key; no slicing. */
  isCurrent(line) {
    const key = this.current;
    return (
      line.startsWith(key) && (line.length === key.length || line.charCodeAt(key.length) === 9)
    );
  }

  /** Moves to the next key, skipping any values the previous group left unread. */
  async nextKey() {
    // Lines at hand are skipped without an await each; only a used-up batch waits for more.
    while (this.current !== undefined) {
      while (this.i < this.lines.length && this.isCurrent(this.lines[this.i])) this.i++;
      if (this.i < this.lines.length || !(await this.fill())) break;
    }
    if (this.i >= this.lines.length && !(await this.fill())) return undefined;
    const line = this.lines[this.i];
    const tab = line.indexOf("\t");
    this.current = tab < 0 ? line : line.slice(0, tab);
    return this.current;
  }

  /** The next line of the current key, undefined where the key changes, null: read on first. */
  take(key) {
    if (this.i >= this.lines.length) return null;
    if (this.current !== key || !this.isCurrent(this.lines[this.i])) return undefined;
    return this.lines[this.i++];
  }
}

/** One key's values as an async iterator, one shared result object, as key-groups.ts GroupValues. */
class GroupValues {
  result = { value: undefined, done: false };

  constructor(groups, key) {
    this.groups = groups;
    this.key = key;
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  next() {
    // A plain object, not a promise, when the line is at hand: `for await` awaits it all the same.
    return this.step() ?? this.groups.fill().then((more) => (more ? this.step() : this.end()));
  }

  step() {
    if (this.result.done) return this.result;
    const line = this.groups.take(this.key);
    if (line === null) return null;
    if (line === undefined) return this.end();
    this.result.value = fromByteString(
      line.length === this.key.length ? "" : line.slice(this.key.length + 1),
    );
    return this.result;
  }

  end() {
    this.result.value = undefined;
    this.result.done = true;
    return this.result;
  }
}

/** As reduce-task.ts: each key with its values, in input order; also the combiner's loop. */
async function runReduce(reduce, input, out, ctx) {
  const groups = new KeyGroups(input);
  for (let key = await groups.nextKey(); key !== undefined; key = await groups.nextKey()) {
    const result = reduce(fromByteString(key), new GroupValues(groups, key), out.emit, ctx);
    if (result != null && typeof result.then === "function") await result;
    if (out.full) await out.flush();
  }
}

/** Writes `text` to stderr and exits with `code` once it is out (stdio pipes may write later). */
function exit(code, text) {
  process.stderr.write(text, () => process.exit(code));
}

async function main(argv) {
  const [role, file] = argv;
  if (argv.length !== 2 || !ROLES.includes(role) || !file) {
    throw new MapReduceError("ERR_USAGE", `${USAGE}; got ${JSON.stringify(argv)}`, 2);
  }
  // stdout carries records only: the job's console.log goes to stderr, as in-process it never
  // reached the output either.
  const stdout = process.stdout;
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
  const counters = new Counters();
  const ctx = jobContext(role, process.env, counters);
  const out = new Output(stdout);
  const input = process.stdin;
  if (role === "map") {
    const [map] = await loadJob(file, ["map"]);
    await runMap(map, input, out.emit, ctx, out);
  } else if (role === "map-combine") {
    const [map, combine] = await loadJob(file, ["map", "combine"]);
    const budget = sortBudget(ctx.conf, process.env);
    await runMapCombine(map, combine, input, out, ctx, counters, budget);
  } else {
    const [reduce] = await loadJob(file, [role]);
    await runReduce(reduce, input, out, ctx);
  }
  await out.close();
  return counters.lines();
}

main(process.argv.slice(2)).then(
  (counterLines) => exit(0, counterLines),
  (error) => {
    const code = error instanceof MapReduceError ? error.exitCode : 1;
    const what = code === 1 ? `${process.argv[2]} in ${process.argv[3]} failed` : "js-runner";
    const message = error instanceof Error ? error.message : String(error);
    // The job's own error with its stack; for a module that failed to load, where it failed
    // (a SyntaxError's stack names the line); the runner's own stack helps no one.
    const cause = error instanceof Error ? error.cause : undefined;
    const stack = cause instanceof Error ? cause.stack : undefined;
    const detail = code === 1 ? inspect(error) : code === 3 && stack ? stack : "";
    const first = detail ? `${detail}\n` : "";
    exit(code, `${first}${what}: ${message}\n`);
  },
);

// The JS job API: a module exporting `map`, optionally `combine`, and `reduce`, loaded and checked once.
import { pathToFileURL } from "node:url";
import { MapReduceError } from "./errors.ts";
import type { KeySpec } from "./key-spec.ts";

/** JS jobs' records are "key<TAB>value" lines, the key up to the first TAB. */
export const JS_KEY_SPEC: KeySpec = { separator: "\t", fields: 1 };

export type Emit = (key: string | number, value: string | number) => void;

export interface JobContext {
  jobId: string;
  taskId: string;
  attemptId: string;
  /** The map task's current input file; empty in reduce tasks. */
  inputFile: string;
  /** The map task index, or the reduce partition. */
  partition: number;
  conf: Readonly<Record<string, string>>;
  counter(group: string, name: string, amount?: number): void;
  status(message: string): void;
}

export type MapFn = (line: string, emit: Emit, ctx: JobContext) => void | Promise<void>;
/** `values` is an async iterable of strings, never an array, so memory stays bounded. */
export type ReduceFn = (
  key: string,
  values: AsyncIterable<string>,
  emit: Emit,
  ctx: JobContext,
) => void | Promise<void>;

export interface JobModule {
  map: MapFn;
  combine?: ReduceFn;
  reduce?: ReduceFn;
}

export async function loadJobModule(path: string, needsReduce: boolean): Promise<JobModule> {
  let loaded: Record<string, unknown>;
  try {
    loaded = await import(pathToFileURL(path).href);
  } catch (error) {
    throw new MapReduceError(
      "ERR_BAD_JOB_MODULE",
      `job module ${path} failed to load: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const mod = (
    loaded.default && typeof loaded.map !== "function" ? loaded.default : loaded
  ) as Record<string, unknown>;
  const check = (name: string, required: boolean) => {
    const fn = mod[name];
    if (fn === undefined && !required) return undefined;
    if (typeof fn !== "function") {
      throw new MapReduceError(
        "ERR_BAD_JOB_MODULE",
        `job module ${path} must export a function '${name}', got ${fn === undefined ? "nothing" : typeof fn}`,
      );
    }
    return fn;
  };
  return {
    map: check("map", true) as MapFn,
    combine: check("combine", false) as ReduceFn | undefined,
    reduce: check("reduce", needsReduce) as ReduceFn | undefined,
  };
}

/** Keys and values travel as text lines (as in Hadoop Streaming), so a key holds no TAB or newline. */
export function recordLine(key: string | number, value: string | number): string {
  const k = String(key);
  const v = String(value);
  checkKey(k);
  checkValue(v);
  return `${k}\t${v}`;
}

export function checkKey(key: string): void {
  if (key.includes("\t") || key.includes("\n")) {
    throw new MapReduceError(
      "ERR_BAD_RECORD",
      `emit(${JSON.stringify(key).slice(0, 60)}, …): a key may hold no TAB or newline`,
    );
  }
}

export function checkValue(value: string): void {
  // A one-character value is checked by its code alone; most values in counting jobs are.
  if (value.length === 1 ? value.charCodeAt(0) === 10 : value.includes("\n")) {
    throw new MapReduceError(
      "ERR_BAD_RECORD",
      `emit(…, ${JSON.stringify(value).slice(0, 60)}): a value may hold no newline`,
    );
  }
}

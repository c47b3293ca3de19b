// The JS job API: a module exporting `map`, optionally `combine`, and `reduce`, loaded and checked once.
import { pathToFileURL } from "node:url";
import { MapReduceError } from "./errors.ts";

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
  if (k.includes("\t") || k.includes("\n") || v.includes("\n")) {
    throw new MapReduceError(
      "ERR_BAD_RECORD",
      `emit(${JSON.stringify(k).slice(0, 60)}, …): a key may hold no TAB or newline, and a value no newline`,
    );
  }
  return `${k}\t${v}`;
}

/** An async iterable over an in-memory array, for combining what one map task buffered. */
export function iterate(values: readonly string[]): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: () =>
          Promise.resolve(
            i < values.length
              ? { value: values[i++] as string, done: false }
              : { value: undefined, done: true as const },
          ),
      };
    },
  };
}

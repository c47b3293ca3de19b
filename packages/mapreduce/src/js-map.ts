// A JS job's map side: lines through `map`, with output aggregated per key and combined when a `combine` exists.
import { StringDecoder } from "node:string_decoder";
import { toByteString } from "./byte-string.ts";
import { C, type Counters, FS_GROUP } from "./counters.ts";
import { checkKey, checkValue, type JobContext, type JobModule, recordLine } from "./js-job.ts";
import type { MapSink } from "./map-task.ts";

/** V8's rough cost of a buffered key: the Map entry, its Pending and the key string. */
const GROUP_COST = 120;

/**
 * One key's buffered values. Counting jobs emit the same value again and again ("1"), so repeats
 * of the first value are only counted; the combiner still sees every one of them.
 */
interface Pending {
  first: string;
  repeats: number;
  others: string[] | undefined;
}

/** The values of `pending`: the first value `repeats` times, then the others in emit order. */
function iteratePending(pending: Pending): AsyncIterable<string> {
  return {
    [Symbol.asyncIterator]() {
      let repeats = pending.repeats;
      let i = 0;
      const others = pending.others ?? [];
      // One result object, reused: `for await` reads it before asking for the next value.
      const result: IteratorResult<string> = { value: pending.first, done: false };
      return {
        next(): Promise<IteratorResult<string>> {
          if (repeats > 0) repeats--;
          else if (i < others.length) result.value = others[i++] as string;
          else Object.assign(result, { value: undefined, done: true });
          // A plain object, not a promise: `for await` awaits it all the same, with less garbage.
          return result as unknown as Promise<IteratorResult<string>>;
        },
      };
    },
  };
}

/** Runs a JS `map` over a segment's lines; with a `combine`, output is aggregated per key first. */
export async function mapSegmentJs(
  module: JobModule,
  /** The segment's bytes, whole lines, ending with a newline. */
  input: AsyncIterable<Buffer>,
  sink: MapSink,
  counters: Counters,
  ctx: JobContext,
  budget: number,
  mapOnly: boolean,
): Promise<void> {
  // A map-only job has no shuffle, so nothing to combine.
  const combine = mapOnly ? undefined : module.combine;
  let buffered = new Map<string, Pending>();
  let bufferedBytes = 0;
  let outputRecords = 0;
  let outputBytes = 0;
  const emit = combine
    ? (key: string | number, value: string | number) => {
        const k = typeof key === "string" ? key : String(key);
        const v = typeof value === "string" ? value : String(value);
        checkValue(v);
        const pending = buffered.get(k);
        if (pending === undefined) {
          // A key is checked once per buffer, when it is first seen.
          checkKey(k);
          buffered.set(k, { first: v, repeats: 1, others: undefined });
          bufferedBytes += GROUP_COST + k.length * 2 + v.length * 2;
        } else if (v === pending.first) {
          pending.repeats++;
        } else {
          if (pending.others === undefined) pending.others = [v];
          else pending.others.push(v);
          bufferedBytes += v.length <= 1 ? 8 : 32 + v.length * 2;
        }
        outputRecords++;
        outputBytes += k.length + v.length + 2;
      }
    : (key: string | number, value: string | number) => {
        const k = typeof key === "string" ? key : String(key);
        const v = typeof value === "string" ? value : String(value);
        checkKey(k);
        checkValue(v);
        sink.record(toByteString(k), toByteString(v));
        outputRecords++;
        outputBytes += k.length + v.length + 2;
      };

  const flushCombined = async () => {
    const groups = buffered;
    buffered = new Map();
    bufferedBytes = 0;
    let inRecords = 0;
    let outRecords = 0;
    const combineEmit = (key: string | number, value: string | number) => {
      recordLine(key, value);
      sink.record(toByteString(String(key)), toByteString(String(value)));
      outRecords++;
    };
    for (const [key, pending] of groups) {
      inRecords += pending.repeats + (pending.others?.length ?? 0);
      await combine?.(key, iteratePending(pending), combineEmit, ctx);
    }
    counters.task(C.combineInputRecords, inRecords);
    counters.task(C.combineOutputRecords, outRecords);
  };

  const decoder = new StringDecoder("utf8");
  let carry = "";
  let inputRecords = 0;
  const mapLine = module.map;
  for await (const chunk of input) {
    counters.increment(FS_GROUP, C.bytesRead, chunk.length);
    const text = carry + decoder.write(chunk);
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    inputRecords += lines.length;
    // CRLF input loses its CR, as Hadoop's LineRecordReader drops it; most chunks have none.
    const crlf = text.includes("\r");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i] as string;
      const result = mapLine(crlf && raw.endsWith("\r") ? raw.slice(0, -1) : raw, emit, ctx);
      if (result !== undefined && result instanceof Promise) await result;
    }
    if (combine && bufferedBytes >= budget) {
      await flushCombined();
      await sink.afterBatch();
    } else if (!combine) {
      await sink.afterBatch();
    }
  }
  if (combine) await flushCombined();
  counters.task(C.mapInputRecords, inputRecords);
  counters.task(C.mapOutputRecords, outputRecords);
  counters.task(C.mapOutputBytes, outputBytes);
}

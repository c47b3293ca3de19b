// SETEVENTS (control-spec §3.4) shared by many subscribers, and the HS_DESC (§4.1.25) and STREAM (§4.1.2) events TorMR reads.
import { TorError } from "../errors.ts";
import type { Reply } from "./reply-parser.ts";
import { parseArguments } from "./tokens.ts";
import type { TorControl } from "./tor-control.ts";

/** SETEVENTS replaces the whole set, so the types every subscriber wants are counted per connection. */
const subscribed = new WeakMap<TorControl, Map<string, number>>();

async function applyEvents(control: TorControl): Promise<void> {
  const counts = subscribed.get(control) ?? new Map<string, number>();
  const types = [...counts].filter(([, count]) => count > 0).map(([type]) => type);
  await control.send(`SETEVENTS ${types.sort().join(" ")}`.trimEnd());
}

/**
 * Subscribes `listener` to one event type (SETEVENTS, control-spec §3.4), keeping other
 * subscribers' types. Resolves once tor has accepted the subscription.
 * @returns an unsubscribe that drops the type from SETEVENTS when nobody else wants it.
 */
export async function subscribe(
  control: TorControl,
  type: string,
  listener: (event: Reply) => void,
): Promise<() => Promise<void>> {
  if (!/^[A-Z_]+$/.test(type))
    throw new TorError("ERR_TOR_ARGUMENT", `expected an event type like HS_DESC, got ${type}`);
  let counts = subscribed.get(control);
  if (!counts) {
    counts = new Map();
    subscribed.set(control, counts);
  }
  const table = counts;
  table.set(type, (table.get(type) ?? 0) + 1);
  const off = control.on(type, listener);
  try {
    await applyEvents(control);
  } catch (error) {
    off();
    table.set(type, (table.get(type) ?? 1) - 1);
    throw error;
  }
  let done = false;
  return async () => {
    if (done) return;
    done = true;
    off();
    table.set(type, (table.get(type) ?? 1) - 1);
    if (!control.closed) await applyEvents(control);
  };
}

export interface HsDescEvent {
  /** REQUESTED, UPLOAD, RECEIVED, UPLOADED, IGNORE, FAILED, CREATED. */
  action: string;
  serviceId: string;
  hsDir: string;
  reason: string | undefined;
}

/** `650 HS_DESC Action HSAddress AuthType HsDir [DescriptorID] [REASON=...]` (control-spec §4.1.25). */
export function parseHsDesc(event: Reply): HsDescEvent {
  const { positional, keywords } = parseArguments(event.lines[0]?.text ?? "");
  return {
    action: positional[1] ?? "",
    serviceId: positional[2] ?? "",
    hsDir: positional[4] ?? "",
    reason: keywords.get("REASON"),
  };
}

export interface StreamEvent {
  streamId: string;
  /** NEW, NEWRESOLVE, REMAP, SENTCONNECT, SENTRESOLVE, SUCCEEDED, FAILED, CLOSED, DETACHED, ... */
  status: string;
  circuitId: string;
  /** `host:port` as the client asked for it, e.g. `<id>.onion:80`. */
  target: string;
  reason: string | undefined;
  purpose: string | undefined;
}

/** `650 STREAM StreamID StreamStatus CircuitID Target [REASON=...] ...` (control-spec §4.1.2). */
export function parseStream(event: Reply): StreamEvent {
  const { positional, keywords } = parseArguments(event.lines[0]?.text ?? "");
  return {
    streamId: positional[1] ?? "",
    status: positional[2] ?? "",
    circuitId: positional[3] ?? "",
    target: positional[4] ?? "",
    reason: keywords.get("REASON"),
    purpose: keywords.get("PURPOSE"),
  };
}

/**
 * Starts watching HS_DESC before the caller publishes, and resolves once tor reports the
 * descriptor of `serviceId` UPLOADED. Subscribe first: an upload can finish before ADD_ONION's
 * reply is read. With `everywhere`, it waits until every upload tor started (one per HSDir and
 * descriptor, each an UPLOAD event) has ended UPLOADED or FAILED, with at least one UPLOADED:
 * a service published again under the same key is then found with its new descriptor, not an
 * HSDir's stale one whose introduction points are gone.
 */
export async function watchDescriptorUpload(
  control: TorControl,
  timeoutMs = 60_000,
): Promise<{
  uploaded(serviceId: string, options?: { everywhere?: boolean }): Promise<void>;
  cancel(): Promise<void>;
}> {
  const state = new Map<string, { pending: Set<string>; uploaded: number }>();
  const stateOf = (serviceId: string) => {
    let entry = state.get(serviceId);
    if (!entry) {
      entry = { pending: new Set(), uploaded: 0 };
      state.set(serviceId, entry);
    }
    return entry;
  };
  let wake: (() => void) | undefined;
  const unsubscribe = await subscribe(control, "HS_DESC", (event) => {
    const parsed = parseHsDesc(event);
    const entry = stateOf(parsed.serviceId);
    if (parsed.action === "UPLOAD") entry.pending.add(parsed.hsDir);
    if (parsed.action === "UPLOADED" || parsed.action === "FAILED") {
      entry.pending.delete(parsed.hsDir);
      if (parsed.action === "UPLOADED") entry.uploaded++;
    }
    wake?.();
  });
  return {
    async uploaded(serviceId, options = {}) {
      const done = () => {
        const entry = stateOf(serviceId);
        return entry.uploaded > 0 && (!options.everywhere || entry.pending.size === 0);
      };
      try {
        if (!done()) {
          await new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
              wake = undefined;
              const entry = stateOf(serviceId);
              reject(
                new TorError(
                  "ERR_TOR_TIMEOUT",
                  `tor did not upload the descriptor of ${serviceId}.onion within ${timeoutMs} ms` +
                    (entry.uploaded > 0
                      ? ` to all its HSDirs (${entry.pending.size} pending)`
                      : ""),
                ),
              );
            }, timeoutMs);
            wake = () => {
              if (!done()) return;
              clearTimeout(timer);
              wake = undefined;
              resolve();
            };
          });
        }
      } finally {
        await unsubscribe();
      }
    },
    cancel: unsubscribe,
  };
}

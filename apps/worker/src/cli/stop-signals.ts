// SIGTERM and SIGINT stop the worker gracefully; a second SIGINT quits at once.

export type StopSignal = "SIGINT" | "SIGTERM";

/** Where signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: StopSignal, listener: () => void): unknown;
  off(signal: StopSignal, listener: () => void): unknown;
}

export interface StopHandlers {
  /** The first SIGINT or SIGTERM: hand running tasks back, then leave. */
  stop(signal: StopSignal): void;
  /** A SIGINT after that: the volunteer wants out now. */
  force(): void;
}

/**
 * A second SIGTERM changes nothing: service managers repeat it, and escalate with SIGKILL after
 * their own timeout. Returns a function that stops listening.
 */
export function watchStopSignals(source: SignalSource, handlers: StopHandlers): () => void {
  let stopping = false;
  const on = (signal: StopSignal) => () => {
    if (!stopping) {
      stopping = true;
      handlers.stop(signal);
    } else if (signal === "SIGINT") {
      handlers.force();
    }
  };
  const onInt = on("SIGINT");
  const onTerm = on("SIGTERM");
  source.on("SIGINT", onInt);
  source.on("SIGTERM", onTerm);
  return () => {
    source.off("SIGINT", onInt);
    source.off("SIGTERM", onTerm);
  };
}

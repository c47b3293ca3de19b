// Turns SIGINT and SIGTERM into an exit code instead of an abrupt death, so the terminal is restored.
import { EXIT, type ExitCode } from "./exit-codes.ts";

export interface InterruptWatch {
  /** Resolves with 130 on SIGINT or 143 on SIGTERM. */
  interrupted: Promise<ExitCode>;
  dispose(): void;
}

export function watchInterrupts(): InterruptWatch {
  let onInt = () => {};
  let onTerm = () => {};
  const interrupted = new Promise<ExitCode>((resolve) => {
    onInt = () => resolve(EXIT.sigint);
    onTerm = () => resolve(EXIT.sigterm);
  });
  // `once`: a second Ctrl-C gets Node's default handling and ends the process at once.
  process.once("SIGINT", onInt);
  process.once("SIGTERM", onTerm);
  return {
    interrupted,
    dispose() {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    },
  };
}

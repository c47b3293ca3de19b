// Chooses live bars on a terminal and plain lines otherwise.
import { barProgress } from "./progress-bar.ts";
import { type ProgressReporter, plainProgress } from "./progress-lines.ts";

export function createProgressReporter(
  stream: NodeJS.WritableStream & { isTTY?: boolean },
): ProgressReporter {
  if (stream.isTTY === true) return barProgress(stream);
  return plainProgress((line) => {
    stream.write(`${line}\n`);
  });
}

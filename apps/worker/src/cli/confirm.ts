// Asks the volunteer on the terminal whether to join the job shown.
import { createInterface } from "node:readline";

/** Resolves true only for an answer starting with y; Ctrl-C, end of input or `signal` mean no. */
export function confirm(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  question: string,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    const rl = createInterface({ input, output });
    let answered = false;
    const finish = (yes: boolean) => {
      if (answered) return;
      answered = true;
      signal?.removeEventListener("abort", onAbort);
      rl.close();
      if (!yes) output.write("\n");
      resolve(yes);
    };
    const onAbort = () => finish(false);
    signal?.addEventListener("abort", onAbort, { once: true });
    // On a terminal readline takes Ctrl-C itself (raw mode) instead of raising SIGINT.
    rl.on("SIGINT", () => finish(false));
    rl.on("close", () => finish(false));
    rl.question(question, (answer) => finish(/^\s*y/i.test(answer)));
  });
}

// Reading a peer's JSON answer: bounded in size, and undefined (not a throw) when it is not JSON, so the caller can name what it got.
import type { IncomingMessage } from "node:http";

/** Answers are small messages; anything bigger is cut off rather than read whole. */
export const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/**
 * The answer's body parsed as JSON, or undefined when it is not JSON.
 * @throws what `tooLarge` makes, once the body passes `MAX_ANSWER_BYTES` (the response is destroyed).
 */
export async function readJsonBody(res: IncomingMessage, tooLarge: () => Error): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ANSWER_BYTES) {
      res.destroy();
      throw tooLarge();
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return undefined;
  }
}

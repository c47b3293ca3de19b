// A JSON call to a peer: sending it with a timeout and errors that name what happened, and reading its answer bounded in size (undefined, not a throw, when it is not JSON).
import { type Agent, type IncomingMessage, request } from "node:http";

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

export interface JsonRequest {
  method: string;
  url: URL;
  /** Sent as the JSON body; none when undefined. */
  body?: unknown;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  agent?: Agent | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  /** The error a call that has not answered after `timeoutMs` ends with. */
  timedOut: () => Error;
  /** The error a call that cannot reach the peer ends with; `why` names the socket's or the transport's reason. */
  unreachable: (why: string, cause: Error) => Error;
}

/**
 * Sends a JSON request and resolves with the response once its head arrives. An abort rejects
 * with the AbortError, a timeout with `timedOut()`, anything else on the way with `unreachable`.
 */
export function sendJsonRequest(call: JsonRequest): Promise<IncomingMessage> {
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  const headers: Record<string, string> = {};
  if (payload !== undefined) headers["content-type"] = "application/json";
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const timeout = call.timedOut();
  const req = request(call.url, {
    method: call.method,
    headers,
    agent: call.agent,
    ...(call.signal ? { signal: call.signal } : {}),
  });
  req.setTimeout(call.timeoutMs, () => req.destroy(timeout));
  req.end(payload);
  return new Promise((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", (error: NodeJS.ErrnoException) => {
      if (error === timeout || error.name === "AbortError") reject(error);
      else reject(call.unreachable(reason(error), error));
    });
  });
}

/** node's socket errors by their errno ("ECONNREFUSED"); the transport's own (Tor's refusals) by their message. */
function reason(error: NodeJS.ErrnoException): string {
  const errno = error.code !== undefined && error.message.includes(error.code);
  return errno ? (error.code as string) : error.message;
}

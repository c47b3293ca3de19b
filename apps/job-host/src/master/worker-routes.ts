// The worker API over HTTP (`/v1/…`): routes parse the message, authenticate the session and call the master.
import { createReadStream } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { PROTOCOL_VERSION, parseMessage } from "@tormr/protocol/version";
import {
  attemptIdSchema,
  challengeRequestSchema,
  heartbeatRequestSchema,
  joinRequestSchema,
  leaveRequestSchema,
  nextRequestSchema,
  resultRequestSchema,
  sha256Hex,
} from "@tormr/protocol/worker-api";
import type { z } from "zod";
import { bearer, sendJson } from "../store/http-server.ts";
import type { Master } from "./master.ts";
import { MasterError } from "./master-error.ts";

/** Worker messages are small; anything bigger is refused before it is read whole. */
const MAX_BODY = 1024 * 1024;
const PEER = "the worker";
const US = "this job host";

async function readBody<T extends z.ZodType>(req: IncomingMessage, schema: T): Promise<z.infer<T>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new MasterError("ERR_TOO_LARGE", `a worker message must be under ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  let message: unknown;
  try {
    message = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new MasterError("ERR_BAD_MESSAGE", "the body is not JSON");
  }
  return parseMessage(schema, message, PEER, US);
}

const reply = (res: ServerResponse, body: object) =>
  sendJson(res, 200, { v: PROTOCOL_VERSION, ...body });

/** The worker API's router, for `createStoreServer({ routes })`: resolves false for other paths. */
export function workerRoutes(master: Master) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = (req.url ?? "/").split("?")[0] ?? "";
    if (!path.startsWith("/v1/")) return false;
    const method = req.method ?? "GET";
    const post = (expected: string) => {
      if (method !== "POST") {
        res.setHeader("allow", "POST");
        throw new MasterError("ERR_BAD_MESSAGE", `${expected} takes POST, not ${method}`);
      }
    };
    const session = () => master.authenticate(bearer(req.headers.authorization));

    if (path === "/v1/join/challenge") {
      post(path);
      const { ticket } = await readBody(req, challengeRequestSchema);
      reply(res, await master.challenge(ticket));
      return true;
    }
    if (path === "/v1/join") {
      post(path);
      reply(res, await master.join(await readBody(req, joinRequestSchema)));
      return true;
    }
    if (path === "/v1/tasks/next") {
      post(path);
      const worker = await session();
      await readBody(req, nextRequestSchema);
      // A worker that hangs up stops its long-poll, so no task is handed to a closed connection.
      const gone = new AbortController();
      res.once("close", () => gone.abort());
      const answer = await master.next(worker, gone.signal);
      if (answer.state === "task" && gone.signal.aborted && answer.task) {
        await master.result(worker, answer.task.attemptId, {
          v: PROTOCOL_VERSION,
          outcome: "returned",
        });
        return true;
      }
      reply(res, answer);
      return true;
    }
    if (path === "/v1/leave") {
      post(path);
      const worker = await session();
      await readBody(req, leaveRequestSchema);
      await master.leave(worker);
      reply(res, {});
      return true;
    }
    const attempt = /^\/v1\/attempts\/([^/]+)\/(heartbeat|result)$/.exec(path);
    if (attempt) {
      post(path);
      const worker = await session();
      const id = attemptIdSchema.safeParse(decodeURIComponent(attempt[1] ?? ""));
      if (!id.success) throw new MasterError("ERR_UNKNOWN_ATTEMPT", "that is not an attempt id");
      if (attempt[2] === "heartbeat") {
        const body = await readBody(req, heartbeatRequestSchema);
        reply(res, await master.heartbeat(worker, id.data, body.status));
      } else {
        reply(res, await master.result(worker, id.data, await readBody(req, resultRequestSchema)));
      }
      return true;
    }
    const code = /^\/v1\/code\/([^/]+)$/.exec(path);
    if (code && method === "GET") {
      const worker = await session();
      const digest = sha256Hex.safeParse(code[1]);
      if (!digest.success)
        throw new MasterError("ERR_NOT_FOUND", "a code bundle is named by its sha256");
      const file = await master.codePath(worker, digest.data);
      res.writeHead(200, { "content-type": "application/x-tar" });
      await pipeline(createReadStream(file), res).catch(() => res.destroy());
      return true;
    }
    throw new MasterError("ERR_NOT_FOUND", `no such endpoint: ${method} ${path.slice(0, 80)}`);
  };
}

// The bucket store over HTTP: GET (with Range) and PUT of /buckets/<id>. Routes parse, authorize and call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { CryptoError, GrantError } from "@tormr/crypto/errors";
import { isUniqueViolation } from "@tormr/db/job-host";
import {
  BUCKETS_PATH,
  type BucketInfo,
  type ErrorBody,
  HEADERS,
  recordsHeaderSchema,
} from "@tormr/protocol/store-api";
import { ProtocolError } from "@tormr/protocol/version";
import { MasterError } from "../master/master-error.ts";
import type { BucketStore, RequestCredentials } from "./bucket-store.ts";
import { parseRange } from "./range.ts";
import { StoreError } from "./store-error.ts";

export interface StoreServerOptions {
  /** Where unexpected errors are reported; the client only ever sees a generic 500. */
  log?: (message: string) => void;
  /** A connection that sends and receives nothing for this long is closed. Default 120 s. */
  idleTimeoutMs?: number;
  /**
   * Other endpoints on the same listener (the worker API): tried first, resolving true when they
   * answered. Their errors are answered like the store's own.
   */
  routes?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export function createStoreServer(store: BucketStore, options: StoreServerOptions = {}): Server {
  const log = options.log ?? ((message: string) => console.error(message));
  // No limit on a whole request (a large bucket over Tor takes long), but one on silence.
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000 });
  server.setTimeout(options.idleTimeoutMs ?? 120_000);
  const handle = (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => {
    const other = options.routes?.(req, res) ?? Promise.resolve(false);
    other
      .then((answered) => (answered ? undefined : route(store, req, res, expectsContinue)))
      .catch((error: unknown) => sendError(res, error, log));
  };
  // `Expect: 100-continue`: a PUT is authorized before its body is sent, so a refused upload costs nothing.
  server.on("checkContinue", (req, res) => handle(req, res, true));
  server.on("request", (req, res) => handle(req, res, false));
  server.on("clientError", (_error, socket) => socket.destroy());
  return server;
}

async function route(
  store: BucketStore,
  req: IncomingMessage,
  res: ServerResponse,
  expectsContinue: boolean,
): Promise<void> {
  const target = req.url ?? "/";
  const pathname = target.split("?")[0] ?? "";
  if (!pathname.startsWith(BUCKETS_PATH)) {
    throw new StoreError(
      "ERR_NO_ROUTE",
      `no such endpoint: ${req.method} ${pathname.slice(0, 80)}`,
    );
  }
  const id = pathname.slice(BUCKETS_PATH.length);
  const method = req.method ?? "GET";
  const credentials: RequestCredentials = {
    method,
    path: target,
    grant: bearer(req.headers[HEADERS.grant]),
    proof: single(req.headers[HEADERS.proof]),
  };
  if (method === "PUT") {
    res.setHeader("connection", "close"); // the body may still be arriving when an error is sent
    const claims = await store.authorize(credentials, id, "write");
    const records = recordsHeaderSchema.safeParse(req.headers[HEADERS.records]);
    if (!records.success) {
      throw new StoreError(
        "ERR_BAD_REQUEST",
        `header ${HEADERS.records} must be the bucket's record count (a whole number ≥ 0)`,
      );
    }
    const length = req.headers["content-length"];
    await store.checkWritable(claims, id, length === undefined ? undefined : Number(length));
    if (expectsContinue) res.writeContinue();
    const info = await store.write(claims, id, req, records.data);
    sendJson(res, 201, info);
    return;
  }
  if (method === "GET" || method === "HEAD") {
    const claims = await store.authorize(credentials, id, "read");
    const info = await store.info(id);
    if (!info) throw new StoreError("ERR_BUCKET_NOT_FOUND", `no bucket ${id}`);
    const range = parseRange(req.headers.range, info.size);
    res.setHeader("accept-ranges", "bytes");
    res.setHeader("etag", `"${info.digest}"`);
    res.setHeader(HEADERS.records, String(info.records));
    res.setHeader("content-type", "application/octet-stream");
    res.setHeader("content-length", String(range ? range.end - range.start + 1 : info.size));
    if (range) res.setHeader("content-range", `bytes ${range.start}-${range.end}/${info.size}`);
    res.writeHead(range ? 206 : 200);
    if (method === "HEAD" || info.size === 0) {
      res.end();
      return;
    }
    await sendBody(store.read(claims, info, range?.start ?? 0, range?.end ?? info.size - 1), res);
    return;
  }
  res.setHeader("allow", "GET, HEAD, PUT");
  throw new StoreError("ERR_METHOD_NOT_ALLOWED", `method ${method} is not allowed on buckets`);
}

async function sendBody(body: NodeJS.ReadableStream, res: ServerResponse): Promise<void> {
  try {
    await pipeline(body, res);
  } catch {
    // The client went away mid-download: nothing to answer. It resumes with a Range request.
    res.destroy();
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: BucketInfo | ErrorBody | object,
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Maps an error to its status and `{ code, message }` body. Bad input is never a 500. */
function sendError(res: ServerResponse, error: unknown, log: (message: string) => void): void {
  let status: number;
  let body: ErrorBody;
  if (error instanceof StoreError || error instanceof GrantError || error instanceof MasterError) {
    status = error.status;
    body = { code: error.code, message: error.message };
  } else if (error instanceof ProtocolError) {
    status = 400;
    body = { code: error.code, message: error.message };
  } else if (error instanceof CryptoError && error.code === "ERR_CRYPTO_ARGUMENT") {
    status = 400;
    body = { code: "ERR_BAD_REQUEST", message: error.message };
  } else if (isUniqueViolation(error)) {
    status = 409;
    body = { code: "ERR_BUCKET_EXISTS", message: "the bucket already exists" };
  } else {
    log(
      `store: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : error}`,
    );
    status = 500;
    body = { code: "ERR_INTERNAL", message: "the store failed unexpectedly; see its log" };
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body);
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

export function bearer(value: string | string[] | undefined): string | undefined {
  const text = single(value);
  if (!text?.startsWith("Bearer ")) return undefined;
  return text.slice("Bearer ".length).trim();
}

// A worker's client of the bucket store: signed PUTs, and downloads that resume where a dropped connection left off.
import { type Agent, type IncomingMessage, request } from "node:http";
import { PassThrough, Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import type { RawKeyPair } from "@tormr/crypto/keys";
import { signRequest } from "@tormr/crypto/request-proof";
import { z } from "zod";
import {
  type BucketInfo,
  bucketInfoSchema,
  bucketPath,
  errorBodySchema,
  HEADERS,
} from "./store-api.ts";

export interface StoreClientOptions {
  /** Where the store listens, e.g. `http://127.0.0.1:8080` (or an onion address, through `agent`). */
  baseUrl: string;
  /** The worker's Ed25519 identity key: it signs every request (proof of possession). */
  identity: RawKeyPair;
  /** The transport, e.g. a SOCKS agent for Tor. Default: node's global agent. */
  agent?: Agent;
  /** How many times a broken download is resumed before it fails. Default 5. */
  resumeAttempts?: number;
  /** A connection silent for this long is given up (and a download resumed). Default 60 s. */
  idleTimeoutMs?: number;
  /** Counts the bytes received and sent, e.g. for a worker's progress line. */
  meter?: ByteMeter;
}

/** Bytes moved through a client, as they move. */
export interface ByteMeter {
  bytesIn: number;
  bytesOut: number;
}

/** The store refused a request: `code` is the store's stable error code, `status` the HTTP status. */
export class StoreRequestError extends Error {
  override readonly name = "StoreRequestError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const grantPayloadSchema = z.object({ jti: z.string().min(1) });

/** The `jti` of a grant, read without verifying it (the store verifies; the client only names it). */
export function grantJti(grant: string): string {
  const payload = grant.split(".")[1] ?? "";
  try {
    return grantPayloadSchema.parse(JSON.parse(Buffer.from(payload, "base64url").toString("utf8")))
      .jti;
  } catch {
    throw new StoreRequestError(0, "ERR_GRANT_MISSING", "the grant is not a JWT with a jti claim");
  }
}

export class StoreClient {
  constructor(private readonly options: StoreClientOptions) {}

  private async headers(method: string, path: string, grant: string) {
    const proof = await signRequest(this.options.identity, {
      method,
      path,
      grantJti: grantJti(grant),
    });
    return { [HEADERS.grant]: `Bearer ${grant}`, [HEADERS.proof]: proof };
  }

  /**
   * Uploads a sealed bucket. With `length` the store refuses an oversized bucket before any byte is
   * sent (`Expect: 100-continue`); without it the upload is chunked and checked as it streams.
   */
  async put(
    grant: string,
    id: string,
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: { records: number; length?: number },
  ): Promise<BucketInfo> {
    const path = bucketPath(id);
    const headers: Record<string, string> = {
      ...(await this.headers("PUT", path, grant)),
      [HEADERS.records]: String(options.records),
      "content-type": "application/octet-stream",
      expect: "100-continue",
    };
    if (options.length !== undefined) headers["content-length"] = String(options.length);
    const req = request(new URL(path, this.options.baseUrl), {
      method: "PUT",
      headers,
      agent: this.options.agent,
    });
    req.setTimeout(this.options.idleTimeoutMs ?? 60_000, () =>
      req.destroy(new Error(`no answer from the store for PUT ${id}`)),
    );
    let upload: Promise<void> = Promise.resolve();
    req.on("continue", () => {
      // Errors surface through the request; the response is what decides the outcome.
      upload = pipeline(Readable.from(body), req).catch(() => {});
    });
    const res = await responseOf(req);
    await upload;
    const info = bucketInfoSchema.parse(await readJson(res, 201));
    if (this.options.meter) this.options.meter.bytesOut += info.size;
    return info;
  }

  /** The bucket's size, record count and digest, without its bytes. */
  async head(grant: string, id: string): Promise<BucketInfo> {
    const path = bucketPath(id);
    const req = request(new URL(path, this.options.baseUrl), {
      method: "HEAD",
      headers: await this.headers("HEAD", path, grant),
      agent: this.options.agent,
    });
    req.end();
    const res = await responseOf(req);
    res.resume();
    if (res.statusCode !== 200) {
      throw new StoreRequestError(res.statusCode ?? 0, "ERR_HTTP", `HEAD ${id}: ${res.statusCode}`);
    }
    return bucketInfoSchema.parse({
      id,
      size: Number(res.headers["content-length"]),
      records: Number(res.headers[HEADERS.records]),
      digest: String(res.headers.etag ?? "").replaceAll('"', ""),
    });
  }

  /**
   * Streams a bucket's sealed bytes. When the connection drops mid-way, the download resumes with a
   * `Range` request from the last byte received, so a flaky circuit costs a retry, not a restart.
   */
  download(grant: string, id: string): Readable {
    // Not Readable.from: destroying that while its generator awaits a response leaves the
    // generator's later rejection unhandled, which ends a worker whose task already failed.
    const out = new PassThrough();
    // A reader that gave up no longer listens: its late error must not end the process.
    out.on("error", () => {});
    const pump = async () => {
      for await (const chunk of this.resumingDownload(grant, id)) {
        if (out.destroyed) return;
        if (this.options.meter) this.options.meter.bytesIn += chunk.length;
        if (!out.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              out.off("drain", done);
              out.off("close", done);
              resolve();
            };
            out.on("drain", done);
            out.on("close", done);
          });
        }
      }
      out.end();
    };
    pump().catch((error: unknown) => {
      if (!out.destroyed) out.destroy(error instanceof Error ? error : new Error(String(error)));
    });
    return out;
  }

  private async *resumingDownload(grant: string, id: string): AsyncGenerator<Buffer> {
    const path = bucketPath(id);
    const attempts = this.options.resumeAttempts ?? 5;
    let received = 0;
    let total: number | undefined;
    let etag: string | undefined;
    for (let failures = 0; ; ) {
      const headers: Record<string, string> = await this.headers("GET", path, grant);
      if (received > 0) headers.range = `bytes=${received}-`;
      let res: IncomingMessage;
      try {
        const req = request(new URL(path, this.options.baseUrl), {
          headers,
          agent: this.options.agent,
        });
        req.setTimeout(this.options.idleTimeoutMs ?? 60_000, () =>
          req.destroy(new Error(`the store went silent during GET ${id}`)),
        );
        req.end();
        res = await responseOf(req);
      } catch (error) {
        if (++failures > attempts) throw error;
        await sleep(backoffMs(failures));
        continue;
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) await readJson(res, 200);
      if (received > 0 && res.statusCode !== 206) {
        res.destroy();
        throw new StoreRequestError(0, "ERR_RESUME", `the store did not resume GET ${id}`);
      }
      const tag = String(res.headers.etag ?? "");
      if (etag !== undefined && tag !== etag) {
        res.destroy();
        throw new StoreRequestError(0, "ERR_RESUME", `bucket ${id} changed during the download`);
      }
      etag = tag;
      total ??= Number(res.headers["content-length"]);
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          received += chunk.length;
          yield chunk;
        }
      } catch (error) {
        if (++failures > attempts) throw error;
        await sleep(backoffMs(failures));
        continue;
      }
      if (received >= total) return;
      if (++failures > attempts) {
        throw new StoreRequestError(0, "ERR_RESUME", `GET ${id} ended early ${attempts} times`);
      }
    }
  }
}

function backoffMs(failures: number): number {
  return Math.min(5_000, 100 * 2 ** (failures - 1));
}

function responseOf(req: ReturnType<typeof request>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    req.once("response", resolve);
    req.once("error", reject);
  });
}

/** Reads a JSON answer; any status but `expected` becomes a StoreRequestError with the store's code. */
async function readJson(res: IncomingMessage, expected: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) break;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (res.statusCode === expected) return body;
  const error = errorBodySchema.safeParse(body);
  const status = res.statusCode ?? 0;
  if (error.success) throw new StoreRequestError(status, error.data.code, error.data.message);
  throw new StoreRequestError(status, `ERR_HTTP_${status}`, `the store answered ${status}`);
}

// A worker's client of the job host's worker API: join with a ticket, long-poll for tasks, heartbeat, report.
import { createHash, sign } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { Agent, IncomingMessage } from "node:http";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { privateKeyObject, type RawKeyPair } from "@tormr/crypto/keys";
import { readJsonBody, sendJsonRequest } from "./json-body.ts";
import { errorBodySchema } from "./store-api.ts";
import { PROTOCOL_VERSION, parseMessage } from "./version.ts";
import {
  challengeResponseSchema,
  heartbeatResponseSchema,
  type JoinRequest,
  type JoinResponse,
  joinResponseSchema,
  joinStatement,
  type NextResponse,
  nextResponseSchema,
  okResponseSchema,
  type ResultRequest,
  resultResponseSchema,
  WORKER_PATHS,
  type WorkerJob,
} from "./worker-api.ts";

/** The job host refused a call: `code` is its stable error code (or ERR_HTTP_<status>). */
export class WorkerApiError extends Error {
  override readonly name = "WorkerApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface WorkerClientOptions {
  /** The job host's worker URL, e.g. `http://127.0.0.1:7311` (an onion address through `agent`). */
  baseUrl: string;
  /** The transport, e.g. a SOCKS agent for Tor. Default: node's global agent. */
  agent?: Agent;
  /** A call that has not answered after this long is abandoned. Default 30 s, plus `pollMs` for `next`. */
  timeoutMs?: number;
}

const PEER = "the job host";
const US = "this worker";

export class WorkerClient {
  private session: string | undefined;
  private pollMs = 0;

  constructor(private readonly options: WorkerClientOptions) {}

  /** Step 1 of joining: the challenge, and the job the ticket is for (check it before you join). */
  async challenge(ticket: string): Promise<{ challenge: string; job: WorkerJob }> {
    const body = await this.call("POST", WORKER_PATHS.challenge, { ticket });
    return parseMessage(challengeResponseSchema, body, PEER, US);
  }

  /** Step 2: proves the worker holds its key by signing the challenge, and opens a session. */
  async join(
    ticket: string,
    challenge: string,
    identity: { signing: RawKeyPair; wrapping: RawKeyPair },
    capabilities: JoinRequest["capabilities"],
    clientAuth?: string,
  ): Promise<JoinResponse> {
    const keys = {
      signing: identity.signing.publicKey.toString("base64url"),
      wrapping: identity.wrapping.publicKey.toString("base64url"),
    };
    const signature = sign(
      null,
      joinStatement(ticket, challenge, keys, clientAuth),
      privateKeyObject(identity.signing),
    ).toString("base64url");
    const body = await this.call("POST", WORKER_PATHS.join, {
      ticket,
      challenge,
      keys,
      ...(clientAuth === undefined ? {} : { clientAuth }),
      signature,
      capabilities,
    });
    const joined = parseMessage(joinResponseSchema, body, PEER, US);
    this.session = joined.session;
    this.pollMs = joined.pollMs;
    return joined;
  }

  /** Waits (up to the host's poll period) for a task. */
  async next(signal?: AbortSignal): Promise<NextResponse> {
    const body = await this.call("POST", WORKER_PATHS.next, {}, { extraMs: this.pollMs, signal });
    return parseMessage(nextResponseSchema, body, PEER, US);
  }

  async heartbeat(
    attemptId: string,
    progress: { status?: string; bytesIn?: number; bytesOut?: number },
  ): Promise<{ cancel: boolean; reason?: string | undefined }> {
    const body = await this.call("POST", WORKER_PATHS.heartbeat(attemptId), progress);
    return parseMessage(heartbeatResponseSchema, body, PEER, US);
  }

  async result(attemptId: string, result: DistributiveOmit<ResultRequest, "v">) {
    const body = await this.call("POST", WORKER_PATHS.result(attemptId), result);
    return parseMessage(resultResponseSchema, body, PEER, US);
  }

  async leave(): Promise<void> {
    const body = await this.call("POST", WORKER_PATHS.leave, {});
    parseMessage(okResponseSchema, body, PEER, US);
  }

  /**
   * Downloads the job's code bundle to `path`, checking its size and sha256 as it streams. A bundle
   * that does not match is deleted, never used.
   */
  async downloadCode(job: Pick<WorkerJob, "codeDigest" | "codeBytes">, path: string) {
    const res = await this.send("GET", WORKER_PATHS.code(job.codeDigest), undefined);
    if (res.statusCode !== 200) await readJson(res);
    const hash = createHash("sha256");
    let bytes = 0;
    const check = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > job.codeBytes) {
          done(
            new WorkerApiError(0, "ERR_CODE_DIGEST", "the code bundle is larger than announced"),
          );
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, check, createWriteStream(path, { mode: 0o600 }));
      const digest = hash.digest("hex");
      if (digest !== job.codeDigest || bytes !== job.codeBytes) {
        throw new WorkerApiError(
          0,
          "ERR_CODE_DIGEST",
          `the code bundle's sha256 is ${digest}, not the announced ${job.codeDigest}`,
        );
      }
    } catch (error) {
      await rm(path, { force: true });
      throw error;
    }
  }

  private async call(
    method: string,
    path: string,
    message: object,
    options: { extraMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<unknown> {
    const res = await this.send(method, path, { v: PROTOCOL_VERSION, ...message }, options);
    return readJson(res);
  }

  private send(
    method: string,
    path: string,
    body: object | undefined,
    options: { extraMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<IncomingMessage> {
    return sendJsonRequest({
      method,
      url: new URL(path, this.options.baseUrl),
      body,
      token: this.session,
      agent: this.options.agent,
      signal: options.signal,
      timeoutMs: (this.options.timeoutMs ?? 30_000) + (options.extraMs ?? 0),
      timedOut: () =>
        new WorkerApiError(0, "ERR_TIMEOUT", `${PEER} did not answer ${method} ${path} in time`),
      unreachable: (why, cause) =>
        new WorkerApiError(
          0,
          "ERR_UNREACHABLE",
          `cannot reach ${PEER} at ${this.options.baseUrl}: ${why}`,
          { cause },
        ),
    });
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Reads a JSON answer; a 4xx or 5xx becomes a WorkerApiError with the host's code and message. */
async function readJson(res: IncomingMessage): Promise<unknown> {
  const body = await readJsonBody(
    res,
    () => new WorkerApiError(0, "ERR_TOO_LARGE", `${PEER} sent an answer over 4 MiB`),
  );
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return body;
  const error = errorBodySchema.safeParse(body);
  if (error.success) throw new WorkerApiError(status, error.data.code, error.data.message);
  throw new WorkerApiError(status, `ERR_HTTP_${status}`, `${PEER} answered ${status}`);
}

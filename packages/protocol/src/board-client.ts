// A client of the board's tRPC API over plain HTTP (through a Tor agent), for job hosts and workers: every answer checked with zod.
import type { Agent, IncomingMessage } from "node:http";
import { z } from "zod";
import {
  attachResponseSchema,
  type BoardAttachment,
  type BoardClusterMember,
  type BoardInfo,
  type BoardRequestStatus,
  boardInfoSchema,
  clusterResponseSchema,
  okSchema,
  pollResponseSchema,
  postResponseSchema,
  type RegisterRequest,
  type ReportReason,
  registerResponseSchema,
  reportResponseSchema,
  requestStatusSchema,
} from "./board-api.ts";
import { readJsonBody, sendJsonRequest } from "./json-body.ts";
import { parseMessage } from "./version.ts";

/** The board refused a call: `code` is its board code (ERR_STAMP, ERR_TOKEN…) or tRPC's. */
export class BoardApiError extends Error {
  override readonly name = "BoardApiError";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface BoardClientOptions {
  /** The board's URL, e.g. `http://<56 characters>.onion`. */
  baseUrl: string;
  /** The transport (a SOCKS agent over Tor); node's global agent when absent. */
  agent?: Agent;
  /** A call not answered after this long is abandoned (a held poll gets its `pollMs` on top). */
  timeoutMs?: number;
}

/** tRPC's error body: the board's own code and field ride in `data`. */
const errorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    data: z
      .object({
        code: z.string().optional(),
        boardCode: z.string().optional(),
        field: z.string().optional(),
      })
      .optional(),
  }),
});
const resultBodySchema = z.object({ result: z.object({ data: z.unknown() }) });

const PEER = "the board";

export class BoardClient {
  constructor(private readonly options: BoardClientOptions) {}

  /** The board's onion (what stamps and per-board keys are bound to) and its stamp work. */
  async info(): Promise<BoardInfo> {
    return parseMessage(
      boardInfoSchema,
      await this.send("GET", "board.info", undefined, {}),
      PEER,
      "this client",
    );
  }

  // Volunteers.

  async register(body: RegisterRequest) {
    return parseMessage(
      registerResponseSchema,
      await this.mutation("worker.register", body),
      PEER,
      "this worker",
    );
  }

  /** Held by the board up to its poll period until the worker has a seat. */
  async poll(token: string, pollMs: number, signal?: AbortSignal) {
    const body = await this.mutation("worker.poll", undefined, { token, extraMs: pollMs, signal });
    return parseMessage(pollResponseSchema, body, PEER, "this worker");
  }

  async heartbeat(token: string): Promise<void> {
    await this.mutation("worker.heartbeat", undefined, { token });
  }

  async leave(token: string): Promise<void> {
    await this.mutation("worker.leave", undefined, { token });
  }

  // Requesters and their job hosts (the status token is the request's capability).

  async post(fields: Record<string, unknown>) {
    return postResponseSchema.parse(await this.mutation("request.post", fields));
  }

  async status(token: string): Promise<BoardRequestStatus> {
    return this.parsed(requestStatusSchema, await this.query("request.status", token));
  }

  /** Held by the board up to its poll period (`pollMs` at most) while the request is waiting. */
  async awaitFormed(
    token: string,
    pollMs: number,
    signal?: AbortSignal,
  ): Promise<BoardRequestStatus> {
    const body = await this.mutation("request.awaitFormed", undefined, {
      token,
      extraMs: pollMs,
      signal,
    });
    return this.parsed(requestStatusSchema, body);
  }

  /** The challenge to serve on the job host's onion, and the board's key to let in for it. */
  async attach(token: string): Promise<BoardAttachment> {
    return this.parsed(
      attachResponseSchema,
      await this.mutation("request.attach", undefined, { token }),
    );
  }

  /** Asks the board to fetch the challenge now (through Tor: this call can take a minute). */
  async verify(token: string): Promise<void> {
    this.parsed(
      okSchema,
      await this.mutation("request.verify", undefined, { token, extraMs: 120_000 }),
    );
  }

  async cluster(token: string): Promise<BoardClusterMember[]> {
    return this.parsed(clusterResponseSchema, await this.query("request.cluster", token));
  }

  /** Says these members' keys are let into the onion: only now does the board hand them their seats. */
  async admitted(token: string, ticketHashes: string[]): Promise<void> {
    this.parsed(okSchema, await this.mutation("request.admitted", { ticketHashes }, { token }));
  }

  /** Frees the seats of lost members (by their tickets' hashes); the board seats others. */
  async replace(token: string, ticketHashes: string[]): Promise<void> {
    this.parsed(okSchema, await this.mutation("request.replace", { ticketHashes }, { token }));
  }

  /**
   * Reports members (by their tickets' hashes) whose results were outvoted: the board lowers each
   * one's standing, once per request. Resolves with how many were lowered now.
   */
  async report(token: string, ticketHashes: string[], reason: ReportReason): Promise<number> {
    return this.parsed(
      reportResponseSchema,
      await this.mutation("request.report", { ticketHashes, reason }, { token }),
    ).lowered;
  }

  /** The job is over: the request is finished and its workers are free again. */
  async finish(token: string): Promise<void> {
    this.parsed(okSchema, await this.mutation("request.finish", undefined, { token }));
  }

  private parsed<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new BoardApiError(
        0,
        "ERR_BAD_MESSAGE",
        `${PEER} sent an answer this client cannot read: ${parsed.error.issues[0]?.message}`,
      );
    }
    return parsed.data;
  }

  private query(path: string, token: string): Promise<unknown> {
    return this.send("GET", path, undefined, { token });
  }

  private mutation(
    path: string,
    input: unknown,
    options: { token?: string; extraMs?: number; signal?: AbortSignal | undefined } = {},
  ): Promise<unknown> {
    return this.send("POST", path, input ?? {}, options);
  }

  private async send(
    method: "GET" | "POST",
    path: string,
    input: unknown,
    options: { token?: string; extraMs?: number; signal?: AbortSignal | undefined },
  ): Promise<unknown> {
    const res = await sendJsonRequest({
      method,
      url: new URL(`/api/trpc/${path}`, this.options.baseUrl),
      body: input,
      token: options.token,
      agent: this.options.agent,
      signal: options.signal,
      timeoutMs: (this.options.timeoutMs ?? 30_000) + (options.extraMs ?? 0),
      timedOut: () => new BoardApiError(0, "ERR_TIMEOUT", `${PEER} did not answer ${path} in time`),
      unreachable: (why, cause) =>
        new BoardApiError(
          0,
          "ERR_UNREACHABLE",
          `cannot reach ${PEER} at ${this.options.baseUrl}: ${why}`,
          undefined,
          { cause },
        ),
    });
    return readAnswer(res, path);
  }
}

/** A tRPC answer's data; its error becomes a BoardApiError with the board's code and message. */
async function readAnswer(res: IncomingMessage, path: string): Promise<unknown> {
  const body = await readJsonBody(
    res,
    () => new BoardApiError(0, "ERR_TOO_LARGE", `${PEER} sent an answer over 4 MiB`),
  );
  const status = res.statusCode ?? 0;
  const ok = resultBodySchema.safeParse(body);
  if (status >= 200 && status < 300 && ok.success) return ok.data.result.data;
  const error = errorBodySchema.safeParse(body);
  if (error.success) {
    const { message, data } = error.data.error;
    throw new BoardApiError(
      status,
      data?.boardCode ?? data?.code ?? `ERR_HTTP_${status}`,
      message,
      data?.field,
    );
  }
  throw new BoardApiError(status, `ERR_HTTP_${status}`, `${PEER} answered ${status} to ${path}`);
}

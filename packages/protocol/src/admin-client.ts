// A client of the job host's admin API (loopback, Bearer admin secret), for the CLI and the requester console: every answer checked with its schema.
import { ReadableStream as NodeReadableStream } from "node:stream/web";
import type { z } from "zod";
import {
  type AttemptRecord,
  adminErrorSchema,
  attemptListSchema,
  type BoardFollowing,
  boardFollowingSchema,
  type CreateJobRequest,
  type CreateJobResponse,
  createJobResponseSchema,
  type HostInfo,
  hostInfoSchema,
  type JobExposure,
  type JobListEntry,
  type JobStatus,
  jobExposureSchema,
  jobListSchema,
  jobStatusSchema,
  outputPartsSchema,
  ticketsResponseSchema,
  type UploadResult,
  type UploadRole,
  uploadResultSchema,
} from "./admin-api.ts";
import { readEndpoints } from "./host-endpoints.ts";

/**
 * The job host refused a call, or could not be asked: `code` is the host's (ERR_NO_JOB,
 * ERR_NOT_EXECUTABLE, ERR_UPLOADS_CLOSED…) or this client's (ERR_HOST_UNREACHABLE, ERR_BAD_ANSWER,
 * ERR_HTTP_<status>); `status` is the HTTP status, 0 when there was no answer.
 */
export class AdminError extends Error {
  override readonly name = "AdminError";
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface AdminClientOptions {
  /** The admin listener, e.g. `http://127.0.0.1:40123`. */
  adminUrl: string;
  /** Where workers connect (the onion with Tor): what join commands name. */
  workerUrl: string;
  /** The admin secret (the state folder's `admin-secret`). */
  secret: string;
}

export interface UploadOptions {
  /** Make the file mode 0755 (browsers lose the mode; a `-file` script run by name needs it). */
  executable?: boolean;
  /** Aborting stops the upload; the job host keeps nothing of it. */
  signal?: AbortSignal;
}

/** A part file as it arrives: its bytes, and its size (the answer's Content-Length). */
export interface OutputPart {
  body: NodeReadableStream<Uint8Array>;
  size: number | undefined;
}

type UploadBody = AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

export class AdminClient {
  readonly adminUrl: string;
  readonly workerUrl: string;
  private readonly secret: string;

  constructor({ adminUrl, workerUrl, secret }: AdminClientOptions) {
    this.adminUrl = adminUrl;
    this.workerUrl = workerUrl;
    this.secret = secret;
  }

  /**
   * The client of the job host running on `stateDir`, from its endpoints file and admin secret.
   * @throws HostNotRunning saying how to start one.
   */
  static async fromStateDir(stateDir: string): Promise<AdminClient> {
    const host = await readEndpoints(stateDir);
    return new AdminClient({
      adminUrl: host.adminUrl,
      workerUrl: host.workerUrl,
      secret: host.adminSecret,
    });
  }

  // 1. Jobs.

  /** Every job on the host, newest first. */
  async jobs(): Promise<JobListEntry[]> {
    return (await this.json(jobListSchema, "GET", "/admin/jobs")).jobs;
  }

  /**
   * Creates the job from its spec (paths on the host), with `tickets` join tickets. Give `workers`,
   * the cluster size you expect: under an exposure cap the host then refuses a cluster too small
   * to keep to it (ERR_BAD_CONF), as it refuses too few reducers or a split over the cap.
   */
  async createJob(request: CreateJobRequest): Promise<CreateJobResponse> {
    return this.json(createJobResponseSchema, "POST", "/admin/jobs", request);
  }

  async status(jobId: string): Promise<JobStatus> {
    return this.json(jobStatusSchema, "GET", jobPath(jobId));
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    return (await this.json(attemptListSchema, "GET", jobPath(jobId, "tasks"))).attempts;
  }

  async exposure(jobId: string): Promise<JobExposure> {
    return this.json(jobExposureSchema, "GET", jobPath(jobId, "exposure"));
  }

  /** The job's host-side JobSpec, as the host stored it. */
  async spec(jobId: string): Promise<unknown> {
    const res = await this.send("GET", jobPath(jobId, "spec"));
    return readJson(res);
  }

  /** Cancels the job (a finished job stays as it was) and answers its status. */
  async cancel(jobId: string): Promise<JobStatus> {
    return this.json(jobStatusSchema, "POST", jobPath(jobId, "cancel"));
  }

  /** `count` one-time join tickets for the job. */
  async createTickets(jobId: string, count: number): Promise<string[]> {
    const body = { count };
    return (await this.json(ticketsResponseSchema, "POST", jobPath(jobId, "tickets"), body))
      .tickets;
  }

  // 2. The host and its board requests.

  /** Where the host is reachable: its worker URL, its onion's service id and its tor's SOCKS listener (null without Tor). */
  async host(): Promise<HostInfo> {
    return this.json(hostInfoSchema, "GET", "/admin/host");
  }

  /**
   * Makes the running host follow a board's cluster request for the job, as `tormr host --request
   * <link> --job <id>` would: it proves its onion, admits the workers the board matches, and
   * finishes the request when the job is over. Refused with ERR_NO_TOR (no onion), ERR_BOARD_BUSY
   * (it follows another request), ERR_NO_JOB, ERR_BOARD_REFUSED (the board refused the link).
   */
  async followBoard(jobId: string, statusLink: string): Promise<BoardFollowing> {
    return this.json(boardFollowingSchema, "POST", jobPath(jobId, "board"), { statusLink });
  }

  /** The board request the host follows (or followed since it started) for the job. */
  async boardOf(jobId: string): Promise<BoardFollowing> {
    return this.json(boardFollowingSchema, "GET", jobPath(jobId, "board"));
  }

  // 3. Files.

  /**
   * Streams one file of a job not yet created to the job host, never holding it whole. The answer's
   * `path` is what the JobSpec names (`inputs` for an input, `files` for a file).
   */
  async upload(
    jobId: string,
    role: UploadRole,
    name: string,
    body: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    { executable = false, signal }: UploadOptions = {},
  ): Promise<UploadResult> {
    const path = `${jobPath(jobId, "uploads")}/${role}/${encodeURIComponent(name)}`;
    const source = bodyStream(body);
    const res = await this.send("PUT", executable ? `${path}?executable=1` : path, {
      body: source.stream,
      signal,
      bodyError: () => source.error,
    });
    return parseAnswer(uploadResultSchema, await readJson(res), res.status);
  }

  /** The part files of a succeeded job, e.g. `part-00000`. */
  async outputParts(jobId: string): Promise<string[]> {
    return (await this.json(outputPartsSchema, "GET", jobPath(jobId, "output"))).parts;
  }

  /** One part file of a succeeded job, streamed, with its size when the host said it. */
  async outputPart(jobId: string, part: string): Promise<OutputPart> {
    const res = await this.send("GET", `${jobPath(jobId, "output")}/${encodeURIComponent(part)}`);
    const length = Number(res.headers.get("content-length") ?? Number.NaN);
    // fetch's body is node's web stream; with the DOM's types (a Next app) it is declared as theirs.
    const body = res.body as unknown as NodeReadableStream<Uint8Array> | null;
    return {
      body: body ?? new NodeReadableStream<Uint8Array>({ start: (c) => c.close() }),
      size: Number.isSafeInteger(length) && length >= 0 ? length : undefined,
    };
  }

  // 4. Transport.

  private async json<T extends z.ZodType>(
    schema: T,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<z.infer<T>> {
    const res = await this.send(
      method,
      path,
      body === undefined ? {} : { body: JSON.stringify(body), json: true },
    );
    return parseAnswer(schema, await readJson(res), res.status);
  }

  /** Sends one call; an answer of 400 or more becomes an AdminError with the host's code and message. */
  private async send(
    method: string,
    path: string,
    options: {
      body?: string | ReadableStream<Uint8Array>;
      json?: boolean;
      signal?: AbortSignal | undefined;
      bodyError?: () => unknown;
    } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.secret}` };
    if (options.json) headers["content-type"] = "application/json";
    else if (options.body !== undefined) headers["content-type"] = "application/octet-stream";
    // `duplex: "half"` is what lets fetch send a stream as it is read (undici's RequestInit has it).
    const init: RequestInit & { duplex?: "half" } = {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: options.body, duplex: "half" }),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    let res: Response;
    try {
      res = await fetch(new URL(path, this.adminUrl), init);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const own = options.bodyError?.();
      if (own !== undefined) throw own;
      throw new AdminError(
        "ERR_HOST_UNREACHABLE",
        0,
        `the job host at ${this.adminUrl} does not answer; is tormr host running?`,
        { cause: error },
      );
    }
    if (res.status >= 400) throw await refusal(res, method, path);
    return res;
  }
}

function jobPath(jobId: string, action?: string): string {
  const base = `/admin/jobs/${encodeURIComponent(jobId)}`;
  return action ? `${base}/${action}` : base;
}

/** The body as a web stream that reads `body` one chunk at a time, and remembers its own failure. */
function bodyStream(body: UploadBody): { stream: ReadableStream<Uint8Array>; error: unknown } {
  const iterator = (body as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const source: { stream: ReadableStream<Uint8Array>; error: unknown } = {
    error: undefined,
    stream: new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await iterator.next();
          if (next.done) controller.close();
          else
            controller.enqueue(
              typeof next.value === "string" ? encoder.encode(next.value) : next.value,
            );
        } catch (error) {
          source.error = error;
          controller.error(error);
        }
      },
      async cancel() {
        await iterator.return?.();
      },
    }),
  };
  return source;
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new AdminError("ERR_BAD_ANSWER", res.status, "the job host answered something not JSON");
  }
}

function parseAnswer<T extends z.ZodType>(schema: T, body: unknown, status: number): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "the answer";
    throw new AdminError(
      "ERR_BAD_ANSWER",
      status,
      `the job host sent an answer this client cannot read: ${where}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

/** The host's `{ code, message }`, or, from something else (a proxy's page), the status alone. */
async function refusal(res: Response, method: string, path: string): Promise<AdminError> {
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const error = adminErrorSchema.safeParse(body);
  if (error.success) return new AdminError(error.data.code, res.status, error.data.message);
  return new AdminError(
    `ERR_HTTP_${res.status}`,
    res.status,
    `the job host answered ${res.status} to ${method} ${path.split("?")[0]}`,
  );
}

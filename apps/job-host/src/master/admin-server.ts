// The admin API: upload a job's files, create, watch, cancel and collect jobs, see who saw what, and follow a board's cluster request. Loopback only, never an onion service, and every call needs the admin secret.

import { timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { JobHostDb } from "@tormr/db/job-host";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { type JobSpec, parseJobSpec } from "@tormr/mapreduce/job-spec";
import {
  createJobRequestSchema,
  followBoardRequestSchema,
  ticketsRequestSchema,
} from "@tormr/protocol/admin-api";
import { BundleError } from "@tormr/task-runner/code-bundle";
import type { z } from "zod";
import { bearer, sendJson } from "../store/http-server.ts";
import {
  type AdminBoardContext,
  AdminBoardError,
  boardOf,
  followBoard,
  hostInfo,
} from "./admin-board.ts";
import { JobUploads, UploadError } from "./admin-uploads.ts";
import { jobExposure } from "./job-exposure.ts";
import { jobAttempts, jobStatus } from "./job-status.ts";
import type { Master } from "./master.ts";
import { MasterError } from "./master-error.ts";

export interface AdminServer {
  url: string;
  server: Server;
}

export interface AdminServerOptions {
  master: Master;
  db: JobHostDb;
  secret: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The job host's state folder: uploads go to its `uploads/<jobId>/<role>/<name>`. */
  stateDir: string;
  /** The job host's job quota, which also bounds each job's uploads. */
  jobQuotaBytes?: number;
  /** How the host is reached, and who follows its board requests. */
  board: Omit<AdminBoardContext, "db">;
}

/** What every request's handling needs. */
interface Context {
  master: Master;
  db: JobHostDb;
  uploads: JobUploads;
  board: AdminBoardContext;
}

const MAX_BODY = 1024 * 1024;

/**
 * Serves the admin API on 127.0.0.1. Onion traffic also arrives from 127.0.0.1, so the address is
 * not the protection: the secret is (a Bearer token), and the `Host` header must name this
 * listener, which stops a web page from reaching it by DNS rebinding.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { master, db, secret } = options;
  const uploads = new JobUploads({
    root: join(options.stateDir, "uploads"),
    db,
    ...(options.jobQuotaBytes !== undefined ? { quotaBytes: options.jobQuotaBytes } : {}),
  });
  const context: Context = { master, db, uploads, board: { ...options.board, db } };
  // No limit on a whole request (an upload of a large input takes long), but one on silence.
  const server = createServer({ requestTimeout: 0, headersTimeout: 30_000 });
  server.setTimeout(120_000);
  let url = "";
  server.on("request", (req, res) => {
    handle(context, secret, url, req, res).catch((error: unknown) => fail(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server };
}

function fail(res: ServerResponse, error: unknown) {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (
    error instanceof MasterError ||
    error instanceof UploadError ||
    error instanceof AdminBoardError
  ) {
    sendJson(res, error.status, { code: error.code, message: error.message });
  } else if (error instanceof MapReduceError || error instanceof BundleError) {
    sendJson(res, 400, { code: error.code, message: error.message });
  } else {
    console.error(`admin: unexpected error: ${error instanceof Error ? error.stack : error}`);
    sendJson(res, 500, {
      code: "ERR_INTERNAL",
      message: "the job host failed unexpectedly; see its log",
    });
  }
}

function authorized(req: IncomingMessage, secret: string): boolean {
  const given = Buffer.from(bearer(req.headers.authorization) ?? "");
  const expected = Buffer.from(secret);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY)
      throw new MasterError("ERR_TOO_LARGE", `a request must be under ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new MasterError("ERR_BAD_MESSAGE", "the body is not JSON");
  }
}

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new MasterError(
      "ERR_BAD_MESSAGE",
      `${issue?.path.join(".") || "body"}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

async function handle(
  context: Context,
  secret: string,
  url: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  // An upload's body may still be arriving when a refusal is sent: the connection ends with it.
  if (req.method === "PUT") res.setHeader("connection", "close");
  if (
    req.headers.host !== new URL(url).host &&
    req.headers.host !== `localhost:${new URL(url).port}`
  ) {
    sendJson(res, 421, {
      code: "ERR_HOST",
      message: "this admin API answers only to its own host name",
    });
    return;
  }
  if (!authorized(req, secret)) {
    sendJson(res, 401, {
      code: "ERR_ADMIN_SECRET",
      message: "the admin secret is missing or wrong",
    });
    return;
  }
  const method = req.method ?? "GET";
  const [path = "", query = ""] = (req.url ?? "/").split("?");
  const { master, db } = context;
  if (path === "/admin/jobs" && method === "POST") {
    const body = parse(createJobRequestSchema, await readJson(req));
    const spec: JobSpec = parseJobSpec(body.spec);
    await master.createJob(spec, {
      ...(body.image ? { image: body.image } : {}),
      ...(body.workers !== undefined ? { workers: body.workers } : {}),
    });
    const tickets = body.tickets > 0 ? await master.createTickets(spec.id, body.tickets) : [];
    sendJson(res, 201, { jobId: spec.id, tickets });
    return;
  }
  if (path === "/admin/host" && method === "GET") {
    sendJson(res, 200, await hostInfo(context.board));
    return;
  }
  if (path === "/admin/jobs" && method === "GET") {
    const jobs = await db.job.findMany({
      select: { id: true, state: true, createdAt: true, finishedAt: true },
      orderBy: { createdAt: "desc" },
    });
    sendJson(res, 200, { jobs });
    return;
  }
  const upload = /^\/admin\/jobs\/([^/]+)\/uploads\/([^/]+)\/([^/]+)$/.exec(path);
  if (upload && method === "PUT") {
    const [, jobId = "", role = "", name = ""] = upload;
    const result = await context.uploads.put(
      { jobId, role, name, executable: executableFlag(query) },
      req,
      declaredLength(req),
    );
    sendJson(res, 201, result);
    return;
  }
  const match =
    /^\/admin\/jobs\/([^/]+)(?:\/(tasks|cancel|tickets|output|spec|exposure|board)(?:\/([^/]+))?)?$/.exec(
      path,
    );
  if (!match) throw notFound(method, path);
  const [, jobId = "", action, file] = match;
  if (file !== undefined && action !== "output") throw notFound(method, path);
  if (!action && method === "GET") return sendJson(res, 200, await jobStatus(db, jobId));
  if (action === "tasks" && method === "GET") {
    return sendJson(res, 200, { attempts: await jobAttempts(db, jobId) });
  }
  if (action === "spec" && method === "GET") return sendJson(res, 200, await master.jobSpec(jobId));
  if (action === "exposure" && method === "GET") {
    return sendJson(res, 200, await jobExposure(db, jobId));
  }
  if (action === "cancel" && method === "POST") {
    await master.cancel(jobId);
    return sendJson(res, 200, await jobStatus(db, jobId));
  }
  if (action === "tickets" && method === "POST") {
    const body = parse(ticketsRequestSchema, await readJson(req));
    if ("ticketHashes" in body) {
      return sendJson(res, 201, {
        admitted: await master.admitTicketHashes(jobId, body.ticketHashes),
      });
    }
    const tickets =
      "count" in body
        ? await master.createTickets(jobId, body.count)
        : await master.createTickets(jobId, body.clientAuthKeys.length, body.clientAuthKeys);
    return sendJson(res, 201, { tickets });
  }
  if (action === "output" && method === "GET") return sendOutput(context, jobId, file, res);
  if (action === "board" && method === "GET") {
    return sendJson(res, 200, await boardOf(context.board, jobId));
  }
  if (action === "board" && method === "POST") {
    const { statusLink } = parse(followBoardRequestSchema, await readJson(req));
    return sendJson(res, 200, await followBoard(context.board, jobId, statusLink));
  }
  throw notFound(method, path);
}

async function sendOutput(
  { master, db }: Context,
  jobId: string,
  file: string | undefined,
  res: ServerResponse,
): Promise<void> {
  const status = await jobStatus(db, jobId);
  if (status.state !== "succeeded") {
    throw new MasterError("ERR_JOB", `job ${jobId} has no output: it is ${status.state}`);
  }
  const output = (await master.jobSpec(jobId)).output;
  const parts = (await readdir(output)).filter((name) => /^part-\d{5}$/.test(name)).sort();
  if (!file) return sendJson(res, 200, { parts });
  if (!parts.includes(file))
    throw new MasterError("ERR_NOT_FOUND", `job ${jobId} has no output file ${file}`);
  const path = join(output, file);
  const { size } = await stat(path);
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": size });
  await pipeline(createReadStream(path), res).catch(() => res.destroy());
}

function notFound(method: string, path: string): MasterError {
  return new MasterError("ERR_NOT_FOUND", `no such endpoint: ${method} ${path.slice(0, 80)}`);
}

/** `?executable=1` (or `=0`); anything else is refused rather than guessed. */
function executableFlag(query: string): boolean {
  const value = new URLSearchParams(query).get("executable");
  if (value === null || value === "0") return false;
  if (value === "1") return true;
  throw new MasterError(
    "ERR_BAD_MESSAGE",
    `executable=${JSON.stringify(value.slice(0, 20))}: expected 1 or 0`,
  );
}

/** The body's length when the client said it, so an upload over the quota is refused before it is read. */
function declaredLength(req: IncomingMessage): number | undefined {
  const value = Number(req.headers["content-length"]);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

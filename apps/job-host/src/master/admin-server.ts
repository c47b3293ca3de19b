// The admin API: create, watch, cancel and collect jobs. Loopback only, never an onion service, and every call needs the admin secret.

import { timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { JobHostDb } from "@tormr/db/job-host";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { type JobSpec, parseJobSpec } from "@tormr/mapreduce/job-spec";
import { BundleError } from "@tormr/task-runner/code-bundle";
import { z } from "zod";
import { bearer, sendJson } from "../store/http-server.ts";
import { jobAttempts, jobStatus } from "./job-status.ts";
import type { Master } from "./master.ts";
import { MasterError } from "./master-error.ts";

export const createJobSchema = z.object({
  /** A JobSpec as the engine takes it, with paths on the job host's disk. */
  spec: z.unknown(),
  /** `tormr/python` (default for streaming) or `tormr/node` (default for JS jobs). */
  image: z.string().min(1).optional(),
  /** Join tickets to make now. */
  tickets: z.number().int().min(0).max(1000).default(0),
});
const clientAuthKey = z
  .string()
  .regex(/^[A-Z2-7]{52}$/, "expected a Tor client-authorization public key (52 base32 characters)");
/**
 * `count` tickets, or one ticket per worker's Tor client-authorization key, or the hashes of
 * tickets a board handed out, each with its worker's key.
 */
const ticketsSchema = z.union([
  z.object({ count: z.number().int().min(1).max(1000) }).strict(),
  z.object({ clientAuthKeys: z.array(clientAuthKey).min(1).max(1000) }).strict(),
  z
    .object({
      ticketHashes: z
        .array(
          z.object({
            hash: z.string().regex(/^[0-9a-f]{64}$/, "expected a SHA-256 hex digest"),
            clientAuthKey,
          }),
        )
        .min(1)
        .max(1000),
    })
    .strict(),
]);

export interface AdminServer {
  url: string;
  server: Server;
}

const MAX_BODY = 1024 * 1024;

/**
 * Serves the admin API on 127.0.0.1. Onion traffic also arrives from 127.0.0.1, so the address is
 * not the protection: the secret is (a Bearer token), and the `Host` header must name this
 * listener, which stops a web page from reaching it by DNS rebinding.
 */
export async function startAdminServer(
  master: Master,
  db: JobHostDb,
  secret: string,
  port = 0,
): Promise<AdminServer> {
  const server = createServer();
  let url = "";
  server.on("request", (req, res) => {
    handle(master, db, secret, url, req, res).catch((error: unknown) => fail(res, error));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, server };
}

function fail(res: ServerResponse, error: unknown) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof MasterError) {
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
  master: Master,
  db: JobHostDb,
  secret: string,
  url: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
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
  const path = (req.url ?? "/").split("?")[0] ?? "";
  if (path === "/admin/jobs" && method === "POST") {
    const body = parse(createJobSchema, await readJson(req));
    const spec: JobSpec = parseJobSpec(body.spec);
    await master.createJob(spec, body.image ? { image: body.image } : {});
    const tickets = body.tickets > 0 ? await master.createTickets(spec.id, body.tickets) : [];
    sendJson(res, 201, { jobId: spec.id, tickets });
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
  const match = /^\/admin\/jobs\/([^/]+)(?:\/(tasks|cancel|tickets|output)(?:\/([^/]+))?)?$/.exec(
    path,
  );
  if (!match)
    throw new MasterError("ERR_NOT_FOUND", `no such endpoint: ${method} ${path.slice(0, 80)}`);
  const [, jobId = "", action, file] = match;
  if (!action && method === "GET") return sendJson(res, 200, await jobStatus(db, jobId));
  if (action === "tasks" && method === "GET") {
    return sendJson(res, 200, { attempts: await jobAttempts(db, jobId) });
  }
  if (action === "cancel" && method === "POST") {
    await master.cancel(jobId);
    return sendJson(res, 200, await jobStatus(db, jobId));
  }
  if (action === "tickets" && method === "POST") {
    const body = parse(ticketsSchema, await readJson(req));
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
  if (action === "output" && method === "GET") {
    const status = await jobStatus(db, jobId);
    if (status.state !== "succeeded") {
      throw new MasterError("ERR_JOB", `job ${jobId} has no output: it is ${status.state}`);
    }
    const output = (await master.jobSpec(jobId)).output;
    const parts = (await readdir(output)).filter((name) => /^part-\d{5}$/.test(name)).sort();
    if (!file) return sendJson(res, 200, { parts });
    if (!parts.includes(file))
      throw new MasterError("ERR_NOT_FOUND", `job ${jobId} has no output file ${file}`);
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    await pipeline(createReadStream(join(output, file)), res).catch(() => res.destroy());
    return;
  }
  throw new MasterError("ERR_NOT_FOUND", `no such endpoint: ${method} ${path.slice(0, 80)}`);
}

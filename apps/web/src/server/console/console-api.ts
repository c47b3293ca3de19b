// The console's own routes under /api/console: the new-job form, cancel, rerun, and the job's output and report. They parse, call and answer; errors say what went wrong.
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import { makeJobId } from "@tormr/mapreduce/job-id";
import { parseJobSpec } from "@tormr/mapreduce/job-spec";
import { AdminClient, AdminError } from "@tormr/protocol/admin-client";
import { HostNotRunning } from "@tormr/protocol/host-endpoints";
import { sendArchive, sendPart } from "./job-output.ts";
import { jobReport } from "./job-report.ts";
import { jobTickets, saveTickets } from "./job-tickets.ts";
import { localWorkers } from "./local-worker-registry.ts";
import { startLocalWorkers } from "./local-workers.ts";
import { FormError, type NewJobOptions, submitNewJob } from "./new-job.ts";

const JOB_ID = /^job_[0-9A-Za-z]+_[0-9]{4,}$/;

function seeOther(res: ServerResponse, location: string): void {
  res.writeHead(303, { location });
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

/** A refusal as JSON, with the status the job host gave (400 for a form that cannot be read). */
export function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof AdminError) {
    sendJson(res, error.status >= 500 ? 502 : error.status, {
      code: error.code,
      message: error.message,
    });
  } else if (error instanceof HostNotRunning) {
    sendJson(res, 503, { code: "ERR_HOST_NOT_RUNNING", message: error.message });
  } else if (error instanceof FormError) {
    sendJson(res, 400, { code: "ERR_BAD_FORM", message: error.message });
  } else {
    console.error(`console: unexpected error: ${error instanceof Error ? error.stack : error}`);
    sendJson(res, 500, {
      code: "ERR_INTERNAL",
      message: "the console failed unexpectedly; see its log",
    });
  }
}

/** The same job again: same inputs, files and settings, a new id and output folder, and as many local workers (or tickets) as before. */
async function rerun(admin: AdminClient, jobId: string, options: NewJobOptions): Promise<string> {
  const old = parseJobSpec(await admin.spec(jobId));
  const id = makeJobId(new Date());
  const spec = { ...old, id, output: join(options.stateDir, "outputs", id) };
  const workers = localWorkers(jobId).length;
  const handedOut = jobTickets(jobId).length;
  const { tickets } = await admin.createJob({ spec, tickets: workers || handedOut });
  if (workers === 0) saveTickets(id, tickets);
  else {
    await startLocalWorkers({
      jobId: id,
      workerUrl: admin.workerUrl,
      tickets,
      sandbox: options.sandbox,
      dir: options.workersDir,
    });
  }
  return id;
}

export async function serveConsoleApi(
  req: IncomingMessage,
  res: ServerResponse,
  options: NewJobOptions,
): Promise<void> {
  const method = req.method ?? "GET";
  const path = new URL(req.url ?? "/", "http://console").pathname;
  if (path === "/api/console/jobs" && method === "POST") {
    const { location } = await submitNewJob(req, options);
    return seeOther(res, location);
  }
  const match =
    /^\/api\/console\/jobs\/([^/]+)\/(cancel|rerun|report\.json|output\.tar|parts\/[^/]+)$/.exec(
      path,
    );
  const [, jobId = "", action = ""] = match ?? [];
  if (!match || !JOB_ID.test(jobId)) {
    return sendJson(res, 404, {
      code: "ERR_NOT_FOUND",
      message: `no such console route: ${method} ${path.slice(0, 80)}`,
    });
  }
  const admin = await AdminClient.fromStateDir(options.stateDir);
  const post = method === "POST";
  if (action === "cancel" && post) {
    await admin.cancel(jobId).catch((error: unknown) => {
      if (!(error instanceof AdminError)) throw error;
    });
    return seeOther(res, `/console/jobs/${jobId}`);
  }
  if (action === "rerun" && post)
    return seeOther(res, `/console/jobs/${await rerun(admin, jobId, options)}`);
  if (action === "report.json" && method === "GET") {
    res.setHeader("content-disposition", `attachment; filename="${jobId}-report.json"`);
    return sendJson(res, 200, await jobReport(admin, jobId));
  }
  if (action === "output.tar" && method === "GET") return sendArchive(admin, jobId, res);
  if (action.startsWith("parts/") && method === "GET")
    return sendPart(admin, jobId, action.slice(6), res);
  sendJson(res, 405, { code: "ERR_METHOD", message: `${method} is not allowed on ${path}` });
}

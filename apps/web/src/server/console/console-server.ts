// The requester console's HTTP server under `tormr console`: its own 127.0.0.1 listener, never an onion; Host and secret checked before anything, then Next for the pages and node:http for uploads and downloads.
// Run: node --import tsx src/server/console/console-server.ts --port <n> (from apps/web, after next build), with the environment of console-env.ts.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import next from "next";
import { isConsolePath } from "../fast/console-paths.ts";
import { contentSecurityPolicy, FIXED_HEADERS, newNonce } from "../fast/security-headers.ts";
import { ConsoleAccess, type Refusal } from "./access.ts";
import { sendError, serveConsoleApi } from "./console-api.ts";
import { CONSOLE_PROXY_HEADER, readConsoleEnv } from "./console-env.ts";
import { stopLocalWorkers } from "./local-workers.ts";

const APP = join(import.meta.dirname, "..", "..", "..");
const HOST = "127.0.0.1";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`console server: expected --port <1..65535>, got '${values.port}'`);
  process.exit(2);
}
const env = readConsoleEnv();
const access = new ConsoleAccess(port);
const apiOptions = {
  stateDir: env.TORMR_CONSOLE_STATE_DIR,
  sandbox: env.TORMR_CONSOLE_WORKER_SANDBOX,
  workersDir: join(env.TORMR_CONSOLE_STATE_DIR, "console-workers"),
};

const app = next({ dev: false, dir: APP, hostname: HOST, port });
await app.prepare();
const nextHandler = app.getRequestHandler();

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
) {
  res.setHeader("content-security-policy", contentSecurityPolicy(newNonce()));
  for (const [name, value] of FIXED_HEADERS) res.setHeader(name, value);
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", ...headers });
  res.end(`${text}\n`);
}

function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal) {
  if ((req.url ?? "").startsWith("/api/")) {
    for (const [name, value] of FIXED_HEADERS) res.setHeader(name, value);
    res.writeHead(refusal.status, { "content-type": "application/json; charset=utf-8" });
    res.end(`${JSON.stringify({ code: refusal.code, message: refusal.message })}\n`);
    return;
  }
  plain(res, refusal.status, refusal.message);
}

/** The one-time key: spent for a session cookie, then on to the jobs. */
function open(req: IncomingMessage, res: ServerResponse, url: URL) {
  if (access.spendKey(url.searchParams.get("key"))) {
    res.writeHead(303, {
      location: "/console",
      "set-cookie": access.sessionCookie(),
      "cache-control": "no-store",
    });
    res.end();
    return;
  }
  if (!access.refusal(req)) {
    res.writeHead(303, { location: "/console" });
    res.end();
    return;
  }
  plain(
    res,
    401,
    "this console link was already used, or is not this console's: run 'tormr console' again for a new one",
  );
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const hostRefusal = access.hostRefusal(req);
  if (hostRefusal) {
    refuse(req, res, hostRefusal);
    return;
  }
  const url = new URL(req.url ?? "/", `http://${HOST}:${port}`);
  if (url.pathname === "/console/open") {
    open(req, res, url);
    return;
  }
  // Next's static chunks, and the console: nothing of the board is served here.
  const ours = isConsolePath(req.url ?? "/") || url.pathname.startsWith("/_next/static/");
  if (!ours) {
    plain(res, 404, "not found: the console's pages are under /console");
    return;
  }
  const refusal = access.refusal(req);
  if (refusal) {
    refuse(req, res, refusal);
    return;
  }
  if (url.pathname.startsWith("/api/console/")) {
    serveConsoleApi(req, res, apiOptions).catch((error: unknown) => sendError(res, error));
    return;
  }
  req.headers[CONSOLE_PROXY_HEADER] = env.TORMR_CONSOLE_PROXY_SECRET;
  nextHandler(req, res).catch((error: unknown) => {
    console.error(`console server: ${(error as Error).message}`);
    if (!res.headersSent) res.statusCode = 500;
    res.end();
  });
}

const server = createServer(route);
server.listen(port, HOST, () => {
  // The launcher reads this one line; the key in it works once.
  process.stdout.write(`${JSON.stringify({ url: access.openUrl() })}\n`);
});

async function stop(): Promise<void> {
  server.close();
  server.closeAllConnections();
  await stopLocalWorkers();
  process.exit(0);
}
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());

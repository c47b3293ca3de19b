// The board's HTTP server under `tormr-board start`: Next for every page and form, but the home page from memory and the API on plain node:http, in one process.
// Run: node --import tsx src/server/fast/board-server.ts --port <n> (from apps/web, after next build)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { parseArgs } from "node:util";
import next from "next";
import { boardContext } from "../context.ts";
import { readEnv } from "../env.ts";
import { boardApi, isApiRequest } from "./api.ts";
import { isConsolePath } from "./console-paths.ts";
import { homePage, isHomePageRequest } from "./home-page.ts";
import { flushSeen } from "./last-seen.ts";
import { contentSecurityPolicy, FIXED_HEADERS, newNonce } from "./security-headers.ts";

const APP = join(import.meta.dirname, "..", "..", "..");
const HOST = "127.0.0.1";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`board server: expected --port <1..65535>, got '${values.port}'`);
  process.exit(2);
}

const app = next({ dev: false, dir: APP, hostname: HOST, port });
await app.prepare();
const nextHandler = app.getRequestHandler();
const context = await boardContext();
const api = boardApi(context, readEnv().TORMR_BOARD_DB);

// The home page's own renderings are sent to Next with this header, which only this process knows.
const RENDER_HEADER = "x-tormr-render";
const renderSecret = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
const home = homePage({
  render: () =>
    fetch(`http://${HOST}:${port}/`, {
      headers: { [RENDER_HEADER]: renderSecret, "accept-encoding": "identity" },
    }),
  onError: (error) => console.error(`board server: home page not kept: ${error.message}`),
});

/** Never a stack or a detail to the client, never its address in the log. */
function failed(res: ServerResponse, error: unknown): void {
  console.error(`board server: ${(error as Error).message}`);
  if (!res.headersSent) res.statusCode = 500;
  res.end();
}

/** The console is never served on a board's listener, whatever pages the app may hold. */
function notFound(res: ServerResponse): void {
  res.setHeader("content-security-policy", contentSecurityPolicy(newNonce()));
  for (const [name, value] of FIXED_HEADERS) res.setHeader(name, value);
  res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
  res.end("not found\n");
}

function route(req: IncomingMessage, res: ServerResponse): void {
  if (isConsolePath(req.url ?? "/")) {
    notFound(res);
    return;
  }
  if (isApiRequest(req)) {
    api.serve(req, res).catch((error: unknown) => failed(res, error));
    return;
  }
  if (req.headers[RENDER_HEADER] !== renderSecret && isHomePageRequest(req) && home.serve(res)) {
    return;
  }
  nextHandler(req, res).catch((error: unknown) => failed(res, error));
}

const server = createServer(route);
server.listen(port, HOST);

async function stop(): Promise<void> {
  server.close();
  server.closeAllConnections();
  // The last second of heartbeats (on a crash it is lost, which soft state may be).
  await flushSeen(context.db).catch(() => {});
  api.close();
  process.exit(0);
}
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());

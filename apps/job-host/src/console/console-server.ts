// The requester console's own HTTP listener: 127.0.0.1 only, never the board's and never an onion, answering only to its own Host and to the holder of its secret.
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConsoleAccess, hostAllowed } from "./console-access.ts";
import { JobHostUnavailable, listJobs } from "./job-host-api.ts";
import { jobListPage, refusedPage, unavailablePage } from "./job-list-page.ts";

export interface ConsoleServerOptions {
  /** The job host's state folder, where its endpoints and admin secret are read. */
  stateDir: string;
  /** The port on 127.0.0.1; 0 picks a free one. */
  port?: number;
}

export interface ConsoleServer {
  /** The console's origin, `http://127.0.0.1:<port>`. */
  origin: string;
  /** The one-time URL to open: `<origin>/console?key=<key>`. */
  url: string;
  close(): Promise<void>;
}

/** Nothing from elsewhere, nothing scripted, never framed, never cached, no referrer. */
const HEADERS = {
  "content-security-policy":
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const STYLE = await readFile(new URL("./console.css", import.meta.url), "utf8");

function send(res: ServerResponse, status: number, type: string, body: string, extra = {}) {
  res.writeHead(status, {
    ...HEADERS,
    "content-type": type,
    "content-length": Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

const html = "text/html; charset=utf-8";
const text = "text/plain; charset=utf-8";

async function route(
  options: ConsoleServerOptions,
  access: ConsoleAccess,
  port: number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (!hostAllowed(req.headers.host, port)) {
    send(res, 421, text, `this console answers only to 127.0.0.1:${port} and localhost:${port}\n`);
    return;
  }
  const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
  if (url.pathname !== "/console" && url.pathname !== "/console/style.css") {
    send(res, 404, text, "not found; the console is at /console\n");
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, text, "only GET\n", { allow: "GET, HEAD" });
    return;
  }
  const admission = access.admit(req, url.searchParams.get("key") ?? undefined);
  if (admission.kind === "refused") {
    send(res, 401, html, refusedPage(admission.reason));
    return;
  }
  if (admission.kind === "exchange") {
    // The key leaves the address bar (and the history) at once; the cookie carries on.
    res.writeHead(303, { ...HEADERS, location: url.pathname, "set-cookie": admission.setCookie });
    res.end();
    return;
  }
  if (url.pathname === "/console/style.css") {
    send(res, 200, "text/css; charset=utf-8", STYLE);
    return;
  }
  try {
    send(res, 200, html, jobListPage(await listJobs(options.stateDir), options.stateDir));
  } catch (error) {
    if (!(error instanceof JobHostUnavailable)) throw error;
    send(res, 503, html, unavailablePage(error.message));
  }
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const access = new ConsoleAccess();
  const server: Server = createServer({ headersTimeout: 30_000, requestTimeout: 60_000 });
  let port = 0;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    route(options, access, port, req, res).catch((error: unknown) => {
      console.error(`tormr console: ${error instanceof Error ? error.stack : error}`);
      if (res.headersSent) res.destroy();
      else send(res, 500, text, "the console failed unexpectedly; see its log\n");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", resolve);
  });
  port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: `${origin}/console?key=${access.key}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// The home page from memory: rendered by Next at most every HOME_RENDER_MS, sent with a fresh CSP nonce in every response.
import type { IncomingMessage, ServerResponse } from "node:http";
import { newNonce } from "./security-headers.ts";

/**
 * How old a kept rendering may get before it is rendered again (in the background, the old one
 * still served meanwhile). Its numbers are recounted at most every STATS_PERIOD_MS (5 minutes)
 * anyway, so they are at most this much later than they would be rendered live.
 */
export const HOME_RENDER_MS = 30_000;

/** After a failed rendering, requests go to Next for this long before the next try. */
const RETRY_MS = 5_000;

/** Headers by which Next's client asks for something other than the page's HTML. */
const NEXT_CLIENT_HEADERS = [
  "rsc",
  "next-router-state-tree",
  "next-router-prefetch",
  "next-router-segment-prefetch",
  "next-action",
  "next-url",
];

/** Per connection or per response, and so never kept: Node writes its own. */
const NOT_KEPT = new Set([
  "connection",
  "content-encoding",
  "content-length",
  "date",
  "keep-alive",
  "transfer-encoding",
]);

/** A plain `GET /`: what a browser sends for the page itself, and all that is answered from memory. */
export function isHomePageRequest(req: IncomingMessage): boolean {
  return (
    req.method === "GET" &&
    req.url === "/" &&
    !NEXT_CLIENT_HEADERS.some((name) => req.headers[name] !== undefined)
  );
}

interface Kept {
  at: number;
  /** The page's HTML, cut where its nonce was: a new one goes between every two parts. */
  parts: Buffer[];
  /** Its headers (Next's CSP among them, and a Link preload with the nonce), cut the same way. */
  headers: [string, string[]][];
}

/** The nonce of a CSP made by contentSecurityPolicy (security-headers.ts). */
function nonceOf(csp: string | null): string | undefined {
  return /'nonce-([A-Za-z0-9+/]{22}==)'/.exec(csp ?? "")?.[1];
}

/** Next's answer to a plain `GET /`, kept if it is a whole 200 page with one nonce throughout. */
async function keep(response: Response, at: number): Promise<Kept | undefined> {
  const nonce = nonceOf(response.headers.get("content-security-policy"));
  const html = await response.text();
  if (response.status !== 200 || !nonce || response.headers.has("content-encoding")) return;
  // Every other header stays as Next sent it: the CSP and the fixed security headers, no-store.
  const headers: [string, string[]][] = [];
  for (const [name, value] of response.headers) {
    if (!NOT_KEPT.has(name)) headers.push([name, value.split(nonce)]);
  }
  return { at, parts: html.split(nonce).map((part) => Buffer.from(part)), headers };
}

export interface HomePage {
  /** Answers `res` from memory and returns true, or returns false: then Next must answer. */
  serve(res: ServerResponse): boolean;
}

/**
 * Keeps what `render` (a plain `GET /` sent to Next, uncompressed) answers. Each response gets
 * a nonce of its own in both the CSP header and the HTML, as Next would have given it, so the
 * policy stays a per-response nonce one like every other page's. Until the first rendering is
 * kept, and while renderings fail, Next answers.
 */
export function homePage(options: {
  render: () => Promise<Response>;
  now?: () => number;
  onError?: (error: Error) => void;
}): HomePage {
  const now = options.now ?? Date.now;
  let kept: Kept | undefined;
  let rendering = false;
  let failedAt = Number.NEGATIVE_INFINITY;

  function refresh(time: number): void {
    if (rendering || time - failedAt < RETRY_MS) return;
    rendering = true;
    options
      .render()
      .then((response) => keep(response, time))
      .then((fresh) => {
        if (!fresh) throw new Error("Next's home page was not a whole 200 page with a nonce CSP");
        kept = fresh;
      })
      .catch((error: unknown) => {
        kept = undefined;
        failedAt = time;
        options.onError?.(error instanceof Error ? error : new Error(String(error)));
      })
      .finally(() => {
        rendering = false;
      });
  }

  return {
    serve(res) {
      const time = now();
      if (!kept || time - kept.at >= HOME_RENDER_MS) refresh(time);
      if (!kept) return false;
      const nonce = newNonce();
      const separator = Buffer.from(nonce);
      const body = Buffer.concat(
        kept.parts.flatMap((part, i) => (i === 0 ? [part] : [separator, part])),
      );
      res.statusCode = 200;
      for (const [name, parts] of kept.headers) res.setHeader(name, parts.join(nonce));
      res.setHeader("content-length", body.length);
      res.end(body);
      return true;
    },
  };
}

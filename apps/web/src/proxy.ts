// Every response's security headers (a strict nonce CSP, no referrer to other origins, nothing framed, nothing sniffed) on what Next serves.
import { type NextRequest, NextResponse } from "next/server";
import { CONSOLE_PROXY_HEADER, consoleProxySecret } from "./server/console/console-env.ts";
import { isConsolePath } from "./server/fast/console-paths.ts";
import { contentSecurityPolicy, FIXED_HEADERS, newNonce } from "./server/fast/security-headers.ts";

/**
 * The nonce reaches the page through the request's own CSP header, where Next looks for it. This
 * is what makes every page dynamic; under `tormr-board start` the home page is nonetheless served
 * from memory (src/server/fast/home-page.ts), with a fresh nonce per response.
 */
export function proxy(request: NextRequest) {
  const nonce = newNonce();
  const csp = contentSecurityPolicy(nonce);
  // Under `next start` too, the console's paths are never the board's (see console-paths.ts):
  // only the console's own server, which checked Host and secret, passes them on with its header.
  const consoleSecret = consoleProxySecret();
  const fromConsole =
    consoleSecret !== undefined && request.headers.get(CONSOLE_PROXY_HEADER) === consoleSecret;
  if (isConsolePath(request.nextUrl.pathname) && !fromConsole) {
    const response = new NextResponse("not found\n", { status: 404 });
    response.headers.set("content-security-policy", csp);
    for (const [name, value] of FIXED_HEADERS) response.headers.set(name, value);
    return response;
  }
  const requestHeaders = new Headers(request.headers);
  requestHeaders.delete(CONSOLE_PROXY_HEADER);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", csp);
  for (const [name, value] of FIXED_HEADERS) response.headers.set(name, value);
  return response;
}

export const config = {
  matcher: [{ source: "/((?!_next/static|_next/image|favicon.ico).*)" }],
};

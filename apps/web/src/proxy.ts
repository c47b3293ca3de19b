// Every response's security headers: a strict nonce CSP, no referrer to other origins, nothing framed, nothing sniffed; nothing else loads.
import { type NextRequest, NextResponse } from "next/server";

/**
 * `default-src 'self'`, and scripts only with this response's nonce ('strict-dynamic' for the
 * chunks Next loads from them). There is no `upgrade-insecure-requests`: an onion site is plain
 * http, and Tor already encrypts end to end. With JavaScript off (Tor Browser's Safest) no script
 * runs at all, and every page and form still works.
 */
export function proxy(request: NextRequest) {
  const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set("x-nonce", nonce);
  requestHeaders.set("content-security-policy", csp);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", csp);
  // Not "no-referrer": with it, browsers send `Origin: null` on every form POST (Fetch §3.1,
  // "serialize a request origin"), and Next refuses such a server action as cross-site, so no form
  // would work with JavaScript off. "same-origin" sends nothing to any other origin either, and
  // the board never links to one.
  response.headers.set("referrer-policy", "same-origin");
  response.headers.set("x-content-type-options", "nosniff");
  response.headers.set("x-frame-options", "DENY");
  response.headers.set("cross-origin-opener-policy", "same-origin");
  response.headers.set("permissions-policy", "camera=(), microphone=(), geolocation=()");
  return response;
}

export const config = {
  matcher: [{ source: "/((?!_next/static|_next/image|favicon.ico).*)" }],
};

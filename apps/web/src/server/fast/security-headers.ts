// The board's security headers, in one place: src/proxy.ts sets them on what Next serves, the board's own server on what it serves itself.

/** 16 random bytes, base64: a fresh one for every response. */
export function newNonce(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
}

/**
 * `default-src 'self'`, and scripts only with this response's nonce ('strict-dynamic' for the
 * chunks Next loads from them). There is no `upgrade-insecure-requests`: an onion site is plain
 * http, and Tor already encrypts end to end. With JavaScript off (Tor Browser's Safest) no script
 * runs at all, and every page and form still works.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
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
}

/** Every response's other headers: no referrer to other origins, nothing framed, nothing sniffed. */
export const FIXED_HEADERS: readonly (readonly [string, string])[] = [
  // Not "no-referrer": with it, browsers send `Origin: null` on every form POST (Fetch §3.1,
  // "serialize a request origin"), and Next refuses such a server action as cross-site, so no form
  // would work with JavaScript off. "same-origin" sends nothing to any other origin either, and
  // the board never links to one.
  ["referrer-policy", "same-origin"],
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["cross-origin-opener-policy", "same-origin"],
  ["permissions-policy", "camera=(), microphone=(), geolocation=()"],
];

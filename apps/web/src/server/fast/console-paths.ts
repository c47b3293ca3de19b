// The requester console's paths, which the board never serves: the console runs on its own loopback listener (`tormr console`), never on a board's onion.

/**
 * `/console` and `/api/console`, and anything under them, however spelled: any case, repeated or
 * trailing slashes, percent-encoding (a path that does not decode is treated as the console's).
 */
export function isConsolePath(url: string): boolean {
  // An absolute-form request target (`GET http://x/console`) names its path after the authority.
  const target = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url.replace(/^[^:]+:\/\/[^/?#]*/, "") : url;
  const raw = target.split(/[?#]/, 1)[0] ?? "";
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return true;
  }
  const normal = path.replace(/[/\\]+/g, "/").toLowerCase();
  return /^\/(?:api\/)?console(?:\/|$)/.test(normal);
}

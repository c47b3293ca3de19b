// Canonical JSON for signed statements: one byte string per value, whatever order its keys came in.

/** A JSON value that `canonicalJson` accepts. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/**
 * RFC 8785 (JCS) for the values TorMR signs: object members sorted by their UTF-16 code units
 * (§3.2.3), no whitespace, strings and numbers as ECMAScript serializes them (§3.2.2). Members
 * whose value is `undefined` are left out, as `JSON.stringify` leaves them out.
 * @throws TypeError for a number that is not finite, or a value JSON has no form for.
 */
export function canonicalJson(value: CanonicalValue): string {
  if (value === null || typeof value === "boolean" || typeof value === "string") {
    return JSON.stringify(value);
  }
  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new TypeError(`canonical JSON: expected a finite number, got ${value}`);
    }
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${(value as readonly CanonicalValue[]).map(canonicalJson).join(",")}]`;
  }
  if (typeof value === "object") {
    const object = value as { readonly [key: string]: CanonicalValue | undefined };
    const members = Object.keys(object)
      .filter((key) => object[key] !== undefined)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key] as CanonicalValue)}`);
    return `{${members.join(",")}}`;
  }
  throw new TypeError(`canonical JSON: expected a JSON value, got ${typeof value}`);
}

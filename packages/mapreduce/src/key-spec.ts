// Where a streaming record's key ends: up to the N-th field separator, or the whole line.
import type { JobSettings } from "./job-spec.ts";

export interface KeySpec {
  separator: string;
  fields: number;
}

export function mapOutputKeySpec(settings: JobSettings): KeySpec {
  return { separator: settings.mapOutputSeparator, fields: settings.mapOutputKeyFields };
}

/** The length of the key in `line`: up to the `fields`-th separator; a line with fewer is all key. */
export function keyLength(line: string, spec: KeySpec): number {
  let at = -1;
  for (let n = 0; n < spec.fields; n++) {
    at = line.indexOf(spec.separator, at < 0 ? 0 : at + spec.separator.length);
    if (at < 0) return line.length;
  }
  return at;
}

/** The value part: what follows the separator that ends the key ("" when there is none). */
export function valuePart(line: string, keyLen: number, spec: KeySpec): string {
  return keyLen >= line.length ? "" : line.slice(keyLen + spec.separator.length);
}

// Checks and converts single flag values: whole numbers, key=value pairs, comma lists.
import { UsageError } from "./usage-error.ts";

export function wholeNumber(flag: string, raw: string, min: number, max: number): number {
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(
      "ERR_BAD_VALUE",
      `${flag}: expected a whole number from ${min} to ${max}, got '${raw}'`,
    );
  }
  return n;
}

/** Splits at the first `=`, so values may contain `=` themselves. The value may be empty. */
export function keyValue(
  flag: string,
  raw: string,
  keyPattern: RegExp,
  keyRule: string,
): [string, string] {
  const eq = raw.indexOf("=");
  const key = eq < 0 ? raw : raw.slice(0, eq);
  if (eq < 0 || !keyPattern.test(key)) {
    const problem =
      eq < 0 ? "no '=' in it" : key === "" ? "the key is empty" : `the key ${keyRule}`;
    throw new UsageError(
      "ERR_BAD_VALUE",
      `${flag} ${raw}: expected ${flag === "-cmdenv" ? "NAME=value" : "key=value"}, but ${problem}`,
    );
  }
  return [key, raw.slice(eq + 1)];
}

/** `-D` keys: anything without whitespace. */
export const CONF_KEY = /^\S+$/;
/** `-cmdenv` names: what a POSIX shell accepts as a variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Hadoop splits comma lists and skips empty entries (a trailing comma is harmless). */
export function commaList(raw: string): string[] {
  return raw.split(",").filter((part) => part !== "");
}

export function nonEmpty(flag: string, raw: string, what: string): string {
  if (raw.trim() === "") {
    throw new UsageError("ERR_BAD_VALUE", `${flag}: expected ${what}, got an empty string`);
  }
  return raw;
}

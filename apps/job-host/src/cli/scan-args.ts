// Splits argv into flag values and positionals using Hadoop's single-dash grammar (`-input x`, `-Dk=v`).
import { closest } from "./closest.ts";
import { type FlagDef, HELP_TOKENS, UNSUPPORTED_FLAGS } from "./flags.ts";
import { UsageError } from "./usage-error.ts";

export interface Positional {
  value: string;
  /** The flag and value just before it, to explain a command that was not quoted. */
  after: { flag: FlagDef; value: string } | undefined;
}

export interface ScannedArgs {
  /** Each flag's values by name, in the order given. */
  values: Map<string, string[]>;
  positionals: Positional[];
}

interface FlagToken {
  name: string;
  /** The value written inside the token (`-Dk=v`, `--workers=4`), if any. */
  inline: string | undefined;
  /** The flag part of the token, for messages. */
  shown: string;
}

/**
 * `-name` is one flag, never a cluster of one-letter flags. `-Dk=v` carries its value, as in
 * Hadoop's GenericOptionsParser. `--name` and `--name=value` are accepted for any flag too.
 */
function splitToken(token: string): FlagToken | undefined {
  if (!token.startsWith("-") || token === "-") return undefined;
  if (token.startsWith("--")) {
    const body = token.slice(2);
    const eq = body.indexOf("=");
    if (eq > 0)
      return {
        name: body.slice(0, eq),
        inline: body.slice(eq + 1),
        shown: `--${body.slice(0, eq)}`,
      };
    return { name: body, inline: undefined, shown: token };
  }
  if (token.startsWith("-D") && token.length > 2) {
    return { name: "D", inline: token.slice(2), shown: "-D" };
  }
  return { name: token.slice(1), inline: undefined, shown: token };
}

function findFlag(flags: readonly FlagDef[], name: string): FlagDef | undefined {
  return flags.find((f) => f.name === name);
}

function looksLikeFlag(token: string, flags: readonly FlagDef[]): boolean {
  if (HELP_TOKENS.has(token)) return true;
  const split = splitToken(token);
  return (
    split !== undefined &&
    (findFlag(flags, split.name) !== undefined || Object.hasOwn(UNSUPPORTED_FLAGS, split.name))
  );
}

function unknownFlag(token: FlagToken, flags: readonly FlagDef[], command: string): UsageError {
  const helpHint = `see tormr ${command} --help`;
  if (Object.hasOwn(UNSUPPORTED_FLAGS, token.name)) {
    return new UsageError(
      "ERR_UNSUPPORTED_FLAG",
      `${token.shown} is a Hadoop option that tormr does not support: ${UNSUPPORTED_FLAGS[token.name]}`,
      "remove it from the command",
    );
  }
  const suggestion = closest(
    token.shown,
    flags.map((f) => f.spelling),
  );
  const didYouMean = suggestion === undefined ? "" : ` (did you mean ${suggestion}?)`;
  return new UsageError("ERR_UNKNOWN_FLAG", `unknown flag ${token.shown}${didYouMean}`, helpHint);
}

export function scanArgs(
  argv: readonly string[],
  flags: readonly FlagDef[],
  command: string,
): ScannedArgs {
  const values = new Map<string, string[]>();
  const positionals: Positional[] = [];
  let previous: Positional["after"];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      for (const rest of argv.slice(i + 1)) positionals.push({ value: rest, after: undefined });
      break;
    }
    const split = splitToken(token);
    if (split === undefined) {
      positionals.push({ value: token, after: previous });
      previous = undefined;
      continue;
    }
    const def = findFlag(flags, split.name);
    if (def === undefined) throw unknownFlag(split, flags, command);
    let value = split.inline;
    if (value === undefined && def.value === "") {
      value = "true"; // a switch: it takes no value
    } else if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || looksLikeFlag(next, flags)) {
        const before = next === undefined ? "" : ` before ${next}`;
        throw new UsageError(
          "ERR_MISSING_VALUE",
          `${def.spelling} needs a value${before}: ${def.spelling} ${def.value}`,
        );
      }
      value = next;
      i++;
    }
    const list = values.get(def.name) ?? [];
    list.push(value);
    values.set(def.name, list);
    previous = { flag: def, value };
  }
  return { values, positionals };
}

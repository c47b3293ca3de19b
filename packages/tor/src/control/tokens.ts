// Control-spec tokens: QuotedString (§2.1.1) and the `KEY=VALUE` argument lists that replies and events carry.
import { TorError } from "../errors.ts";

/** A QuotedString for a command argument (control-spec §2.1.1): backslash and quote escaped. */
export function quoteString(value: string): string {
  if (/[\r\n\0]/.test(value)) {
    throw new TorError(
      "ERR_TOR_ARGUMENT",
      `expected a string without CR, LF or NUL for the control port, got ${JSON.stringify(value)}`,
    );
  }
  return `"${value.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

/** Reads a QuotedString starting at `start` (the opening quote); returns its value and where it ends. */
function readQuoted(text: string, start: number): { value: string; end: number } {
  let value = "";
  let index = start + 1;
  while (index < text.length) {
    const character = text[index] as string;
    if (character === '"') return { value, end: index + 1 };
    if (character === "\\") {
      const next = text[index + 1] ?? "";
      const octal = /^[0-7]{1,3}/.exec(text.slice(index + 1, index + 4));
      if (octal) {
        value += String.fromCharCode(Number.parseInt(octal[0], 8));
        index += 1 + octal[0].length;
        continue;
      }
      value += ESCAPES[next] ?? next;
      index += 2;
      continue;
    }
    value += character;
    index += 1;
  }
  throw new TorError("ERR_TOR_PROTOCOL", `unterminated quoted string in tor's answer: ${text}`);
}

export interface Arguments {
  /** Arguments without `=`, in order (quoted ones unquoted). */
  positional: string[];
  /** `KEY=VALUE` arguments; a repeated key keeps its last value. */
  keywords: Map<string, string>;
}

/**
 * Splits `WORD KEY=VALUE KEY="quoted value" "quoted word"` (the shape of PROTOCOLINFO lines,
 * bootstrap status and event arguments, §3.21, §4.1) into positional and keyword arguments.
 */
export function parseArguments(text: string): Arguments {
  const positional: string[] = [];
  const keywords = new Map<string, string>();
  let index = 0;
  while (index < text.length) {
    if (text[index] === " ") {
      index += 1;
      continue;
    }
    if (text[index] === '"') {
      const quoted = readQuoted(text, index);
      positional.push(quoted.value);
      index = quoted.end;
      continue;
    }
    const key = /^[^\s="]+=/.exec(text.slice(index));
    if (key) {
      const name = key[0].slice(0, -1);
      index += key[0].length;
      if (text[index] === '"') {
        const quoted = readQuoted(text, index);
        keywords.set(name, quoted.value);
        index = quoted.end;
      } else {
        const end = text.indexOf(" ", index);
        keywords.set(name, text.slice(index, end < 0 ? text.length : end));
        index = end < 0 ? text.length : end;
      }
      continue;
    }
    const end = text.indexOf(" ", index);
    positional.push(text.slice(index, end < 0 ? text.length : end));
    index = end < 0 ? text.length : end;
  }
  return { positional, keywords };
}

// The text --help prints after commander's usage line: every flag, examples and exit codes.
import type { FlagDef } from "./flags.ts";

const WIDTH = 80;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

function flagNotes(def: FlagDef): string {
  const notes = [def.required ? "required" : "", def.repeatable ? "repeatable" : ""].filter(
    Boolean,
  );
  return notes.length === 0 ? "" : ` (${notes.join(", ")})`;
}

/** Two columns: the flag with its value, then its wrapped description. */
export function formatFlags(flags: readonly FlagDef[]): string[] {
  const rows = flags.map((def) => ({
    term: def.value ? `${def.spelling} ${def.value}` : def.spelling,
    text: def.help + flagNotes(def),
  }));
  rows.push({ term: "--help, -help, -h", text: "Show this help." });
  const termWidth = Math.max(...rows.map((r) => r.term.length));
  const lines: string[] = [];
  for (const { term, text } of rows) {
    const [first = "", ...rest] = wrap(text, WIDTH - termWidth - 4);
    lines.push(`  ${term.padEnd(termWidth)}  ${first}`);
    for (const more of rest) lines.push(`  ${"".padEnd(termWidth)}  ${more}`);
  }
  return lines;
}

export const EXIT_CODES_HELP = [
  "Exit codes:",
  "  0    the job succeeded",
  "  1    internal error (a bug in tormr)",
  "  2    usage error: unknown flag, missing or malformed value",
  "  3    bad input: no such input, output exists, mapper not executable, bad -D,",
  "       or tor could not be used (--tor)",
  "  4    the job failed: a task used up its attempts",
  "  130  interrupted (Ctrl-C); 143 on SIGTERM",
];

export function commandHelp(options: {
  flags: readonly FlagDef[];
  notes: string[];
  examples: string[];
}): string {
  return [
    "",
    "Flags (Hadoop Streaming spelling: one dash, the value after a space):",
    ...formatFlags(options.flags),
    "",
    ...options.notes.flatMap((note) => wrap(note, WIDTH)),
    ...(options.notes.length > 0 ? [""] : []),
    "Examples:",
    ...options.examples.map((example) => `  ${example}`),
    "",
    ...EXIT_CODES_HELP,
  ].join("\n");
}

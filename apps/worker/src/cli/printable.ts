// Makes text from the job host safe for a terminal: one bounded line, no control characters.

/**
 * The job host is another party: its job names, commands and error messages must not move the
 * cursor, recolour or retitle the volunteer's terminal, so C0/C1 controls (ESC included) become
 * `\u{…}` escapes, and lines are joined with " | ".
 */
export function printable(text: string, max = 300): string {
  const folded = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" | ")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
  return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}

// Folds multi-line text (a task's stderr, an error message) into one bounded line for the terminal.

/** Joins the non-blank lines with " | " and cuts the result to at most `max` characters. */
export function oneLine(text: string, max = 300): string {
  const folded = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .join(" | ");
  return folded.length > max ? `${folded.slice(0, max - 1)}…` : folded;
}

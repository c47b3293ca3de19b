// Rewrites commander's own error text into tormr's one-line `tormr: …; what to do` form.

/** `error: unknown command 'x'\n(Did you mean y?)\n` → `tormr: unknown command 'x' (did you mean y?); see tormr --help` */
export function formatCommanderError(text: string): string {
  const lines = text
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const [first = "", ...rest] = lines;
  const message = first.replace(/^error:\s*/, "");
  const suggestions = rest.map((line) => line.replace(/^\((.*)\)$/, "$1").replace(/^Did/, "did"));
  const hint = /^unknown option '-/.test(message)
    ? "put the command first, as in: tormr streaming -input <path> …"
    : "see tormr --help";
  const extra = suggestions.map((line) => ` (${line})`).join("");
  return `tormr: ${message}${extra}; ${hint}\n`;
}

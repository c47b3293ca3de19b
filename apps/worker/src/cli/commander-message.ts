// Rewrites commander's own error text into the one-line `tormr-worker: …; what to do` form.

/** `error: unknown option '--x'\n(Did you mean --y?)\n` → `tormr-worker: unknown option '--x' (did you mean --y?); see tormr-worker start --help` */
export function formatCommanderError(text: string, command: string): string {
  const [first = "", ...rest] = text
    .trim()
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  const message = first.replace(/^error:\s*/, "");
  const extra = rest
    .map((line) => ` (${line.replace(/^\((.*)\)$/, "$1").replace(/^Did/, "did")})`)
    .join("");
  return `tormr-worker: ${message}${extra}; see ${command} --help\n`;
}

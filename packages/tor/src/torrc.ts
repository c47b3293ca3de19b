// torrc files: the options we accept are checked (names and single-line values) before they are written.
import { z } from "zod";

const value = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^[^\r\n\0]*$/, "a torrc value must fit on one line"),
]);

/** Option name to value; an array repeats the option (DirAuthority, HiddenServicePort, ...). */
export const torrcOptionsSchema = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "expected a torrc option name"),
  z.union([value, z.array(value)]),
);

export type TorrcOptions = z.infer<typeof torrcOptionsSchema>;

/** Renders options as torrc lines; later keys are written later, so tor applies them last. */
export function renderTorrc(options: TorrcOptions): string {
  const parsed = torrcOptionsSchema.parse(options);
  const lines: string[] = [];
  for (const [name, setting] of Object.entries(parsed)) {
    for (const one of Array.isArray(setting) ? setting : [setting]) lines.push(`${name} ${one}`);
  }
  return `${lines.join("\n")}\n`;
}

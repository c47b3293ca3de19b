// The CLI layer's one error type: the command line itself is wrong (exit code 2).
import type { z } from "zod";

export type UsageErrorCode =
  | "ERR_UNKNOWN_FLAG"
  | "ERR_UNSUPPORTED_FLAG"
  | "ERR_MISSING_VALUE"
  | "ERR_MISSING_FLAG"
  | "ERR_REPEATED_FLAG"
  | "ERR_BAD_VALUE"
  | "ERR_MISSING_ARGUMENT"
  | "ERR_UNEXPECTED_ARGUMENT"
  | "ERR_UNKNOWN_COMMAND";

export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    readonly code: UsageErrorCode,
    message: string,
    /** What to do next, shown after the message on the same line. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

/**
 * A subcommand's commander options checked with `schema`; the first problem becomes a
 * UsageError naming the flag, what it expected and what it got, with `hint` after it.
 */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  raw: Record<string, unknown>,
  hint: string,
): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const flag = String(issue?.path[0]).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  throw new UsageError(
    "ERR_BAD_VALUE",
    `--${flag}: ${issue?.message}, got '${String(raw[String(issue?.path[0])])}'`,
    hint,
  );
}

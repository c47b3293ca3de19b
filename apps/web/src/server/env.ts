// The board's environment, read and checked in this one place.
import { isAbsolute } from "node:path";
import { z } from "zod";

/** An unset variable and an empty one mean the same: not given. */
const optional = z
  .string()
  .optional()
  .transform((value) => (value === "" ? undefined : value));

/** Stamp work in leading zero bits, 0 to 28. */
const bits = optional.pipe(
  z
    .string()
    .regex(/^\d{1,2}$/, "expected a whole number of bits from 0 to 28")
    .transform(Number)
    .pipe(z.number().max(28, "expected a whole number of bits from 0 to 28"))
    .optional(),
);

const envSchema = z.object({
  /** The board's SQLite file, an absolute path. */
  TORMR_BOARD_DB: z
    .string()
    .refine(isAbsolute, "expected an absolute path to the board's database file"),
  /** The board's own onion address (56 characters): stamps and workers' pseudonyms are bound to it. */
  TORMR_BOARD_ONION: z
    .string()
    .regex(/^[a-z2-7]{56}$/, "expected a v3 onion address without .onion"),
  /** Stamp work in bits, for registrations and posts (default 20). */
  TORMR_BOARD_REGISTER_BITS: bits,
  TORMR_BOARD_POST_BITS: bits,
  /**
   * `tor` (the default): a request forms only once its job host served the board's challenge on
   * its onion, fetched through tor. `off`: every onion is taken on trust (`tormr-board start --local`).
   */
  TORMR_BOARD_VERIFY: optional.pipe(z.enum(["tor", "off"]).default("tor")),
  /** tor's control port, `[host:]port`, for verifying requests (cookie or TORMR_TOR_CONTROL_PASSWORD). */
  TORMR_BOARD_TOR_CONTROL: optional.pipe(
    z
      .string()
      .regex(/^(?:[^:]+:)?\d{1,5}$/, "expected [host:]port such as 9051")
      .optional(),
  ),
  /** The board's own Tor client-authorization key, which job hosts let in while it verifies them. */
  TORMR_BOARD_CLIENT_AUTH_FILE: optional.pipe(
    z.string().refine(isAbsolute, "expected an absolute path").optional(),
  ),
});

export type BoardEnv = z.infer<typeof envSchema>;

export function readEnv(source: Record<string, string | undefined> = process.env): BoardEnv {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`board environment: ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

// The board's settings, checked with zod: stamp work, lifetimes and limits; tests shorten the periods.
import { z } from "zod";

export const boardSettingsSchema = z.object({
  /** The board's own onion address (56 characters): stamps and pseudonyms are bound to it. */
  onion: z.string().regex(/^[a-z2-7]{56}$/, "expected a v3 onion address without .onion"),
  /** Leading zero bits a registration's stamp needs (about 2^n hashes: 20 is a second or two). */
  registerBits: z.number().int().min(0).max(28).default(20),
  /** ... and a request's. */
  postBits: z.number().int().min(0).max(28).default(20),
  /** How long a waiting request stays up before it expires. */
  requestTtlMs: z
    .number()
    .int()
    .min(1_000)
    .default(24 * 3600_000),
  /** A worker not heard from for this long drops out of the pool. */
  workerStaleMs: z
    .number()
    .int()
    .min(1_000)
    .default(5 * 60_000),
  /** How long an assignment poll is held open. */
  pollMs: z.number().int().min(50).default(25_000),
  maxClusterSize: z.number().int().min(1).max(1024).default(64),
  /**
   * A worker whose standing (lowered once per request whose job host reported it outvoted) is at
   * or below this is no longer matched at all; above it, lower standing is matched later.
   */
  minStanding: z.number().int().max(0).default(-3),
  /**
   * Take every request's onion on trust instead of fetching its challenge through Tor: for a
   * `--local` board, which has no tor. Anyone could then send volunteers to someone else's onion.
   */
  trustOnions: z.boolean().default(false),
});

export type BoardSettings = z.infer<typeof boardSettingsSchema>;

export function boardSettings(input: z.input<typeof boardSettingsSchema>): BoardSettings {
  const parsed = boardSettingsSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`board setting ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The resource a stamp must name for one action on this board. */
export function stampResource(settings: Pick<BoardSettings, "onion">, action: "register" | "post") {
  return `${settings.onion}/${action}`;
}

// Posting a cluster request: its fields checked, its stamp spent, and a status link returned once.
import type { BoardDb } from "@tormr/db/board";
import { parseOnionAddress } from "@tormr/tor/onion-address";
import { z } from "zod";
import { BoardError } from "./errors.ts";
import { hashSecret, newId, newSecret } from "./secrets.ts";
import type { BoardSettings } from "./settings.ts";
import { payWithStamp } from "./spend-stamp.ts";

export const SANDBOXES = ["any", "docker", "bwrap"] as const;

/** What a requester posts (the form's fields, or the job host's API call). */
export const postRequestSchema = z.object({
  title: z.string().trim().min(1, "give the request a title").max(120, "at most 120 characters"),
  description: z.string().trim().max(2000, "at most 2000 characters").default(""),
  size: z.coerce
    .number({ message: "expected a whole number of workers" })
    .int("expected a whole number of workers")
    .min(1, "at least 1 worker"),
  onion: z.string().trim().min(1, "the job host's .onion address is needed"),
  minMemoryMb: z.coerce
    .number({ message: "expected MiB as a whole number" })
    .int("expected MiB as a whole number")
    .min(64, "at least 64 MiB")
    .max(1_048_576, "at most 1 TiB")
    .default(256),
  sandbox: z.enum(SANDBOXES, { message: "expected any, docker or bwrap" }).default("any"),
  stamp: z.string().trim().optional(),
});
export type PostRequestInput = z.input<typeof postRequestSchema>;

export interface PostedRequest {
  id: string;
  /** The status link's secret: shown to the requester once, stored only as its hash. */
  statusToken: string;
  expiresAt: Date;
}

/** Parses with `schema`, turning the first problem into a BoardError naming its field. */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown): z.infer<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? "");
  throw new BoardError(
    "ERR_BAD_INPUT",
    `${field || "input"}: ${issue?.message}`,
    field || undefined,
  );
}

/**
 * Stores a waiting request. The onion's v3 checksum is checked here; that the requester controls
 * it is proved later, when her job host attaches and serves the board's challenge on it
 * (attach-request.ts). Until then the request does not form. A board that trusts onions
 * (`--local`) marks it verified at once.
 * @throws BoardError ERR_BAD_INPUT naming the field, ERR_STAMP.
 */
export async function postRequest(
  db: BoardDb,
  settings: BoardSettings,
  input: unknown,
  options: { now?: Date } = {},
): Promise<PostedRequest> {
  const fields = parseInput(postRequestSchema, input);
  if (fields.size > settings.maxClusterSize) {
    throw new BoardError(
      "ERR_BAD_INPUT",
      `size: at most ${settings.maxClusterSize} workers`,
      "size",
    );
  }
  let serviceId: string;
  try {
    serviceId = parseOnionAddress(
      fields.onion.replace(/^https?:\/\//, "").replace(/\/+$/, ""),
    ).serviceId;
  } catch (error) {
    throw new BoardError("ERR_BAD_INPUT", `onion: ${(error as Error).message}`, "onion");
  }
  const now = options.now ?? new Date();
  const statusToken = newSecret();
  const expiresAt = new Date(now.getTime() + settings.requestTtlMs);
  const create = () =>
    db.request.create({
      data: {
        id: newId(),
        statusHash: hashSecret(statusToken),
        title: fields.title,
        description: fields.description,
        size: fields.size,
        onion: serviceId,
        minMemoryMb: fields.minMemoryMb,
        sandbox: fields.sandbox,
        state: "waiting",
        verifiedAt: settings.trustOnions ? now : null,
        createdAt: now,
        expiresAt,
      },
      select: { id: true },
    });
  const request = await payWithStamp(db, settings, "post", fields.stamp, create, now);
  return { id: request.id, statusToken, expiresAt };
}

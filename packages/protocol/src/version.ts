// Protocol versions: every message says which one it speaks, and a peer on another one is refused by name.
import { z } from "zod";

/**
 * The protocol this build speaks. Boards, job hosts and workers are upgraded independently, so every
 * message carries it; bump it whenever a message changes in a way an older peer would misread.
 */
export const PROTOCOL_VERSION = 2;
// 2: buckets are compressed before sealing (the task exchange names the codec, which a version-1
// worker would ignore and feed compressed bytes to its mapper); a join may carry a Tor
// client-authorization key.

export class ProtocolError extends Error {
  override readonly name = "ProtocolError";
  constructor(
    readonly code: "ERR_PROTOCOL_VERSION" | "ERR_BAD_MESSAGE",
    message: string,
  ) {
    super(message);
  }
}

/** `{ v: <version> }`, the field every message starts with. */
export const versionedSchema = z.object({ v: z.number().int().positive() });

/**
 * Checks that `message` speaks our protocol before anything else in it is read.
 * @param peer Who sent it, for the message: "the job host", "worker abc…".
 * @param us What we are: "this worker".
 * @throws ProtocolError `ERR_PROTOCOL_VERSION` naming both versions, or `ERR_BAD_MESSAGE`.
 */
export function checkVersion(message: unknown, peer: string, us: string): void {
  const parsed = versionedSchema.safeParse(message);
  if (!parsed.success) {
    throw new ProtocolError("ERR_BAD_MESSAGE", `${peer} sent a message without a protocol version`);
  }
  const theirs = parsed.data.v;
  if (theirs !== PROTOCOL_VERSION) {
    const newer = theirs > PROTOCOL_VERSION ? us : peer;
    throw new ProtocolError(
      "ERR_PROTOCOL_VERSION",
      `${peer} speaks protocol version ${theirs}, ${us} speaks version ${PROTOCOL_VERSION}; upgrade ${newer}`,
    );
  }
}

/** Parses a versioned message: the version first (so the error names it), then the whole schema. */
export function parseMessage<T extends z.ZodType>(
  schema: T,
  message: unknown,
  peer: string,
  us: string,
): z.infer<T> {
  checkVersion(message, peer, us);
  const parsed = schema.safeParse(message);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "the message";
    throw new ProtocolError(
      "ERR_BAD_MESSAGE",
      `${peer} sent a bad message: ${where}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

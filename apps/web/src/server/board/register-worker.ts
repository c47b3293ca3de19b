// A volunteer registers with the board: its per-board keys, proven by a signature, paid for with a stamp.
import { pseudonymOf, verifyEd25519 } from "@tormr/crypto/keys";
import type { BoardDb } from "@tormr/db/board";
import { registerRequestSchema, registrationStatement } from "@tormr/protocol/board-api";
import { BoardError } from "./errors.ts";
import { parseInput } from "./post-request.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { BoardSettings } from "./settings.ts";
import { payWithStamp } from "./spend-stamp.ts";

/** Registration epochs are 6 hours wide: coarse enough to say nothing of when a worker came. */
export const EPOCH_MS = 6 * 3600_000;

export interface Registered {
  pseudonym: string;
  /** Shown to the worker once; the board keeps its hash. */
  token: string;
}

/**
 * Registers (or re-registers, after a restart) a worker. Its pseudonym is the thumbprint of its
 * per-board signing key. A re-registration keeps the worker's first epoch and its seat, if it has
 * one, and replaces its token.
 * @throws BoardError ERR_BAD_INPUT, ERR_STAMP, ERR_TOKEN (a bad signature), ERR_BANNED.
 */
export async function registerWorker(
  db: BoardDb,
  settings: BoardSettings,
  input: unknown,
  now = new Date(),
): Promise<Registered> {
  const request = parseInput(registerRequestSchema, input);
  const statement = registrationStatement(settings.onion, request.stamp, request.keys);
  if (!verifyEd25519(request.keys.signing, statement, request.signature)) {
    throw new BoardError(
      "ERR_TOKEN",
      "the registration signature does not verify with keys.signing",
      "signature",
    );
  }
  const pseudonym = pseudonymOf(Buffer.from(request.keys.signing, "base64url"));
  const existing = await db.worker.findUnique({
    where: { pseudonym },
    select: { state: true },
  });
  if (existing?.state === "banned") {
    throw new BoardError("ERR_BANNED", `pseudonym ${pseudonym} is banned from this board`);
  }
  const token = newSecret();
  const fields = {
    wrappingKey: request.keys.wrapping,
    clientAuthKey: request.keys.clientAuth,
    tokenHash: hashSecret(token),
    memoryMb: request.capabilities.memoryMb,
    sandbox: request.capabilities.sandbox,
    slots: request.capabilities.slots,
    lastSeen: now,
  };
  const upsert = () =>
    db.worker.upsert({
      where: { pseudonym },
      create: {
        pseudonym,
        signingKey: request.keys.signing,
        epoch: Math.floor(now.getTime() / EPOCH_MS),
        state: "available",
        availableSince: now,
        ...fields,
      },
      // A worker that left comes back available; a seated one keeps its seat.
      update: {
        ...fields,
        ...(existing?.state === "left" ? { state: "available", availableSince: now } : {}),
      },
      select: { pseudonym: true },
    });
  await payWithStamp(db, settings, "register", request.stamp, upsert, now);
  return { pseudonym, token };
}

/** The worker a token belongs to. @throws BoardError ERR_TOKEN. */
export async function workerByToken(db: BoardDb, token: string | undefined) {
  const worker = token
    ? await db.worker.findUnique({
        where: { tokenHash: hashSecret(token) },
        select: { pseudonym: true, state: true },
      })
    : null;
  if (!worker) throw new BoardError("ERR_TOKEN", "no worker has this token: register first");
  if (worker.state === "banned") {
    throw new BoardError("ERR_BANNED", `pseudonym ${worker.pseudonym} is banned from this board`);
  }
  return worker;
}

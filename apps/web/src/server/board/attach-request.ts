// A job host's calls on its request: attach (get the challenge), verify (the board fetches it from the onion), admit its workers, replace lost ones, finish.
import type { BoardDb } from "@tormr/db/board";
import { challengePath, ticketHashesSchema } from "@tormr/protocol/board-api";
import { BoardError } from "./errors.ts";
import { endRequest } from "./free-seats.ts";
import { parseInput } from "./post-request.ts";
import { ownRequest, ownRequestIn } from "./request-status.ts";
import { newSecret } from "./secrets.ts";
import type { BoardSettings } from "./settings.ts";

/**
 * Fetches `path` from `http://<onion>.onion` through Tor, as a client its job host lets in, and
 * resolves with the body (bounded); rejects with a message saying what went wrong.
 */
export type OnionFetcher = (onion: string, path: string) => Promise<string>;

export interface Attachment {
  requestId: string;
  challenge: string;
  /** The board's client-authorization key (base32) to let in while it verifies; null: it never fetches. */
  clientAuth: string | null;
}

const OPEN = ["waiting", "formed"];
const over = (state: string) => `this request is ${state}; post a new one`;
const notFormed = (state: string) => `the request is ${state}, not formed`;

/**
 * The challenge the request's job host must serve at `challengePath(id)` on the onion the request
 * names. Made on the first attach and kept, so a job host that restarts serves the same one.
 * @throws BoardError ERR_TOKEN, ERR_CONFLICT for a request that is over.
 */
export async function attachRequest(
  db: BoardDb,
  settings: BoardSettings,
  token: string | undefined,
  clientAuth: string | null,
): Promise<Attachment> {
  const request = await ownRequestIn(db, undefined, token, OPEN, over);
  let challenge = request.challenge;
  if (!challenge) {
    challenge = newSecret();
    // Two attaches at once: the first write wins and both read it back.
    await db.request.updateMany({
      where: { id: request.id, challenge: null },
      data: { challenge },
    });
    challenge = (await ownRequest(db, request.id, token)).challenge ?? challenge;
  }
  return {
    requestId: request.id,
    challenge,
    clientAuth: settings.trustOnions ? null : clientAuth,
  };
}

/**
 * Fetches the challenge from the request's onion and, when it matches, marks the request
 * verified: from then on it can form. Verifying again is harmless.
 * @throws BoardError ERR_TOKEN, ERR_CONFLICT (not attached, or over), ERR_UNVERIFIED saying what the onion answered.
 */
export async function verifyRequest(
  db: BoardDb,
  settings: BoardSettings,
  token: string | undefined,
  fetchFromOnion: OnionFetcher | undefined,
  now = new Date(),
): Promise<void> {
  const request = await ownRequestIn(db, undefined, token, OPEN, over);
  if (request.verifiedAt) return;
  if (!request.challenge) {
    throw new BoardError("ERR_CONFLICT", "attach first: there is no challenge to fetch yet");
  }
  if (!settings.trustOnions) {
    if (!fetchFromOnion) {
      throw new BoardError(
        "ERR_UNVERIFIED",
        "this board has no tor to fetch challenges with; its operator must give it one",
      );
    }
    const path = challengePath(request.id);
    let body: string;
    try {
      body = await fetchFromOnion(request.onion, path);
    } catch (error) {
      throw new BoardError(
        "ERR_UNVERIFIED",
        `could not fetch ${request.onion}.onion${path} through Tor: ${(error as Error).message}`,
      );
    }
    if (body.trim() !== request.challenge) {
      throw new BoardError(
        "ERR_UNVERIFIED",
        `${request.onion}.onion${path} did not answer with this request's challenge: the onion is not this job host's`,
      );
    }
  }
  await db.request.update({
    where: { id: request.id },
    data: { verifiedAt: now },
    select: { id: true },
  });
}

/**
 * Frees the seats of the members the job host lost (named by their tickets' hashes): their
 * workers leave the pool until they are heard from again, and matching seats others in their
 * place. Hashes of no seat of this request are ignored.
 * @returns how many seats were freed.
 * @throws BoardError ERR_TOKEN, ERR_BAD_INPUT, ERR_CONFLICT unless formed.
 */
export async function replaceWorkers(
  db: BoardDb,
  token: string | undefined,
  input: unknown,
): Promise<number> {
  const { ticketHashes } = parseInput(ticketHashesSchema, input);
  const request = await ownRequestIn(db, undefined, token, ["formed"], notFormed);
  const seats = await db.seat.findMany({
    where: { request: request.id, ticketHash: { in: ticketHashes } },
    select: { worker: true },
  });
  const workers = seats.map((s) => s.worker);
  await db.$transaction([
    db.seat.deleteMany({ where: { request: request.id, worker: { in: workers } } }),
    db.worker.updateMany({
      where: { pseudonym: { in: workers }, state: "seated" },
      data: { state: "left" },
    }),
  ]);
  return workers.length;
}

/**
 * The job host lets these members in (by their tickets' hashes): their seats are handed to their
 * workers from now on. Hashes of no seat of this request are ignored.
 * @returns how many seats were newly admitted.
 * @throws BoardError ERR_TOKEN, ERR_BAD_INPUT, ERR_CONFLICT unless formed.
 */
export async function admitWorkers(
  db: BoardDb,
  token: string | undefined,
  input: unknown,
  now = new Date(),
): Promise<number> {
  const { ticketHashes } = parseInput(ticketHashesSchema, input);
  const request = await ownRequestIn(db, undefined, token, ["formed"], notFormed);
  const admitted = await db.seat.updateMany({
    where: { request: request.id, ticketHash: { in: ticketHashes }, admittedAt: null },
    data: { admittedAt: now },
  });
  return admitted.count;
}

/**
 * The job is over: the request is finished, and its workers are free for other requests.
 * @throws BoardError ERR_TOKEN, ERR_CONFLICT unless waiting or formed.
 */
export async function finishRequest(db: BoardDb, token: string | undefined): Promise<void> {
  const request = await ownRequest(db, undefined, token);
  if (request.state === "finished") return;
  if (!OPEN.includes(request.state)) {
    throw new BoardError("ERR_CONFLICT", `this request is ${request.state} already`);
  }
  await endRequest(db, request.id, "finished");
}

// A request seen through its status link: its state and counts, never its workers; and cancelling it.
import type { BoardDb } from "@tormr/db/board";
import { BoardError } from "./errors.ts";
import { endRequest } from "./free-seats.ts";
import { hashSecret } from "./secrets.ts";

export interface RequestStatus {
  id: string;
  title: string;
  description: string;
  size: number;
  state: "waiting" | "formed" | "finished" | "cancelled" | "expired";
  /** Whether its job host has proved the onion is its own; only verified requests form. */
  verified: boolean;
  seated: number;
  createdAt: Date;
  expiresAt: Date;
  formedAt: Date | null;
}

/**
 * The request a status token opens (and, with `id`, only if it is that request).
 * @throws BoardError ERR_TOKEN for an unknown request or a wrong token: the two look the same.
 */
export async function ownRequest(db: BoardDb, id: string | undefined, token: string | undefined) {
  const request = token
    ? await db.request.findUnique({
        where: { statusHash: hashSecret(token) },
        select: {
          id: true,
          title: true,
          description: true,
          size: true,
          state: true,
          createdAt: true,
          expiresAt: true,
          formedAt: true,
          onion: true,
          challenge: true,
          verifiedAt: true,
          _count: { select: { seats: true } },
        },
      })
    : null;
  if (!request || (id !== undefined && request.id !== id)) {
    throw new BoardError(
      "ERR_TOKEN",
      "this status link is not valid: check that it was copied whole",
    );
  }
  return request;
}

/**
 * The request `token` opens (and `id`, when given, names), if its state is one of `states`.
 * @throws BoardError ERR_TOKEN, ERR_CONFLICT saying `why(state)`.
 */
export async function ownRequestIn(
  db: BoardDb,
  id: string | undefined,
  token: string | undefined,
  states: readonly string[],
  why: (state: string) => string,
) {
  const request = await ownRequest(db, id, token);
  if (!states.includes(request.state)) throw new BoardError("ERR_CONFLICT", why(request.state));
  return request;
}

/** The status of the request `token` opens; `id`, when given, must name it too. */
export async function requestStatus(
  db: BoardDb,
  id: string | undefined,
  token: string | undefined,
  now = new Date(),
): Promise<RequestStatus> {
  const {
    _count,
    onion: _onion,
    challenge: _challenge,
    verifiedAt,
    ...request
  } = await ownRequest(db, id, token);
  const expired = request.state === "waiting" && request.expiresAt <= now;
  return {
    ...request,
    state: (expired ? "expired" : request.state) as RequestStatus["state"],
    verified: verifiedAt !== null,
    seated: _count.seats,
  };
}

/**
 * Cancels a waiting or formed request. Its seats are freed and their workers are available again
 * (a formed cluster's job host then loses them).
 * @throws BoardError ERR_TOKEN, ERR_CONFLICT for a request already cancelled or expired.
 */
export async function cancelRequest(
  db: BoardDb,
  id: string | undefined,
  token: string | undefined,
) {
  const request = await ownRequestIn(
    db,
    id,
    token,
    ["waiting", "formed"],
    (state) => `this request is ${state} already`,
  );
  await endRequest(db, request.id, "cancelled");
}

// The board's tRPC set-up, read top to bottom: 1. the context, 2. initialisation and error mapping, 3. the procedures.

import type { BoardDb } from "@tormr/db/board";
import { initTRPC, TRPCError } from "@trpc/server";
import { BoardError, type BoardErrorCode } from "../board/errors.ts";
import type { BoardSettings } from "../board/settings.ts";
import type { OnionVerifier } from "../onion-verifier.ts";
import type { RateLimiter } from "./rate-limit.ts";

// 1. Context: the database, the settings, and the bearer token a caller sent (never its address).

export interface BoardApiContext {
  db: BoardDb;
  settings: BoardSettings;
  /** `Authorization: Bearer <token>`: a worker's token, or a request's status token. */
  token: string | undefined;
  limiter: RateLimiter;
  /** Fetches requests' challenges from their onions; absent when onions are taken on trust. */
  verifier?: OnionVerifier | undefined;
}

/** The context without HTTP, for tests through `createCaller`. */
export function createContextInner(context: BoardApiContext): BoardApiContext {
  return context;
}

/** The context of one HTTP request: only its Authorization header is read. */
export function tokenOf(headers: Headers): string | undefined {
  const value = headers.get("authorization") ?? "";
  return /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(value)?.[1];
}

// 2. Initialisation. BoardError becomes the TRPCError of its status, in this one place.

const CODES: Record<BoardErrorCode, TRPCError["code"]> = {
  ERR_BAD_INPUT: "BAD_REQUEST",
  ERR_STAMP: "BAD_REQUEST",
  ERR_TOKEN: "UNAUTHORIZED",
  ERR_NOT_FOUND: "NOT_FOUND",
  ERR_CONFLICT: "CONFLICT",
  ERR_RATE_LIMITED: "TOO_MANY_REQUESTS",
  ERR_BANNED: "FORBIDDEN",
  ERR_UNVERIFIED: "PRECONDITION_FAILED",
};

const t = initTRPC.context<BoardApiContext>().create({
  errorFormatter({ shape, error }) {
    const cause = error.cause instanceof BoardError ? error.cause : undefined;
    return {
      ...shape,
      // Never a stack, on any error: the board answers with its message and stable code only.
      data: {
        code: shape.data.code,
        httpStatus: shape.data.httpStatus,
        boardCode: cause?.code,
        field: cause?.field,
      },
    };
  },
});

const boardErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof BoardError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: CODES[cause.code], message: cause.message, cause });
  }
  return result;
});

// 3. Procedures.

export const createRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/**
 * Anyone. Calls with a token are rate-limited per token and procedure; calls without one (posting,
 * registering) are paid for with a stamp instead, which one shared bucket would only turn into a
 * board-wide cap.
 */
export const publicProcedure = t.procedure.use(boardErrors).use(async ({ ctx, path, next }) => {
  if (ctx.token !== undefined) ctx.limiter.take(`${path}:${ctx.token}`);
  return next();
});

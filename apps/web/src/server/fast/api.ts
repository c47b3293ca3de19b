// The board's tRPC API on node:http: heartbeats by fastHeartbeat, every other call by tRPC's node-http adapter on the same appRouter and context as the Next route.
import type { IncomingMessage, ServerResponse } from "node:http";
import { nodeHTTPRequestHandler } from "@trpc/server/adapters/node-http";
import { rateLimiter } from "../api/rate-limit.ts";
import { appRouter } from "../api/root.ts";
import { createContextInner, tokenOf } from "../api/trpc.ts";
import type { BoardContext } from "../context.ts";
import { fastHeartbeat } from "./heartbeat.ts";
import { contentSecurityPolicy, FIXED_HEADERS, newNonce } from "./security-headers.ts";

/**
 * `/api/trpc/<procedure or batch>`, as Next's route `app/api/trpc/[trpc]` takes it (one segment);
 * anything deeper is left to Next, which answers 404 as before.
 */
const API_PATH = /^\/api\/trpc\/([^/?]+)\/?(?:\?|$)/;

export function isApiRequest(req: IncomingMessage): boolean {
  return API_PATH.test(req.url ?? "");
}

export interface BoardApi {
  /** Answers an API call; never rejects. */
  serve(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): void;
}

/**
 * The answers are the fetch adapter's, byte for byte (the same router, error formatter and
 * resolveResponse), with the security headers every response of the board carries. `dbPath` is
 * the database file of `context.db`, for the heartbeats' read.
 */
export function boardApi(context: BoardContext, dbPath: string): BoardApi {
  // The same limits as the Next route's (20 calls at once per token and procedure, then 5 a
  // second). Every API call under `tormr-board start` comes here: one limiter for the process.
  const limiter = rateLimiter({ burst: 20, perSecond: 5 });
  const heartbeats = fastHeartbeat({ db: context.db, path: dbPath, limiter });
  return {
    async serve(req, res) {
      res.setHeader("content-security-policy", contentSecurityPolicy(newNonce()));
      for (const [name, value] of FIXED_HEADERS) res.setHeader(name, value);
      if (heartbeats.answer(req, res)) return;
      const headers = new Headers();
      if (req.headers.authorization) headers.set("authorization", req.headers.authorization);
      await nodeHTTPRequestHandler({
        router: appRouter,
        req,
        res,
        path: API_PATH.exec(req.url ?? "")?.[1] ?? "",
        createContext: () => createContextInner({ ...context, token: tokenOf(headers), limiter }),
      });
    },
    close: () => heartbeats.close(),
  };
}

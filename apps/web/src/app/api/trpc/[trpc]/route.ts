// The board's API over HTTP: tRPC's fetch adapter, the context from the bearer token and nothing else of the request.
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { rateLimiter } from "../../../../server/api/rate-limit.ts";
import { appRouter } from "../../../../server/api/root.ts";
import { createContextInner, tokenOf } from "../../../../server/api/trpc.ts";
import { boardContext } from "../../../../server/context.ts";

/** 20 calls at once per token and procedure, then 5 a second. */
const limiter = rateLimiter({ burst: 20, perSecond: 5 });

async function handler(request: Request): Promise<Response> {
  const board = await boardContext();
  return fetchRequestHandler({
    endpoint: "/api/trpc",
    req: request,
    router: appRouter,
    createContext: () => createContextInner({ ...board, token: tokenOf(request.headers), limiter }),
  });
}

export { handler as GET, handler as POST };

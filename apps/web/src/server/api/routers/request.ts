// Requesters' and job hosts' calls: post a request, read and cancel it with its status token.
import { z } from "zod";
import { clusterOf } from "../../board/cluster-of.ts";
import { postRequest } from "../../board/post-request.ts";
import { cancelRequest, requestStatus } from "../../board/request-status.ts";
import { createRouter, publicProcedure } from "../trpc.ts";

export const requestRouter = createRouter({
  /** The answer's `statusToken` is the request's capability: only its poster ever sees it. */
  post: publicProcedure.input(z.unknown()).mutation(async ({ ctx, input }) => {
    const posted = await postRequest(ctx.db, ctx.settings, input);
    return { ...posted, statusPath: `/status/${posted.statusToken}` };
  }),

  /** The request the bearer status token opens. */
  status: publicProcedure.query(({ ctx }) => requestStatus(ctx.db, undefined, ctx.token)),

  /** For the job host, once formed: its workers' public keys and their tickets' hashes. */
  cluster: publicProcedure.query(({ ctx }) => clusterOf(ctx.db, ctx.token)),

  cancel: publicProcedure.mutation(async ({ ctx }) => {
    await cancelRequest(ctx.db, undefined, ctx.token);
    return { ok: true as const };
  }),
});

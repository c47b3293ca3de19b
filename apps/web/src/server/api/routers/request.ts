// Requesters' and job hosts' calls: post a request; with its status token read it, attach and verify its job host, replace lost workers, report outvoted ones, finish or cancel it.
import { z } from "zod";
import {
  admitWorkers,
  attachRequest,
  finishRequest,
  replaceWorkers,
  verifyRequest,
} from "../../board/attach-request.ts";
import { clusterOf } from "../../board/cluster-of.ts";
import { postRequest } from "../../board/post-request.ts";
import { reportWorkers } from "../../board/report-workers.ts";
import { cancelRequest, requestStatus } from "../../board/request-status.ts";
import { createRouter, publicProcedure } from "../trpc.ts";

/** How often a held call looks at the database again. */
const POLL_STEP_MS = 500;

export const requestRouter = createRouter({
  /** The answer's `statusToken` is the request's capability: only its poster ever sees it. */
  post: publicProcedure.input(z.unknown()).mutation(async ({ ctx, input }) => {
    const posted = await postRequest(ctx.db, ctx.settings, input);
    return { ...posted, statusPath: `/status/${posted.statusToken}` };
  }),

  /** The request the bearer status token opens. */
  status: publicProcedure.query(({ ctx }) => requestStatus(ctx.db, undefined, ctx.token)),

  /** For the job host: held up to `pollMs` while the request is waiting; answers its status. */
  awaitFormed: publicProcedure.mutation(async ({ ctx, signal }) => {
    const deadline = Date.now() + ctx.settings.pollMs;
    for (;;) {
      const status = await requestStatus(ctx.db, undefined, ctx.token);
      if (status.state !== "waiting" || Date.now() + POLL_STEP_MS > deadline || signal?.aborted) {
        return status;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_STEP_MS));
    }
  }),

  /** For the job host: the challenge to serve on its onion, and the board's key to let in. */
  attach: publicProcedure.mutation(({ ctx }) =>
    attachRequest(ctx.db, ctx.settings, ctx.token, ctx.verifier?.clientAuth ?? null),
  ),

  /** The board fetches the challenge from the request's onion now; the request can then form. */
  verify: publicProcedure.mutation(async ({ ctx }) => {
    await verifyRequest(ctx.db, ctx.settings, ctx.token, ctx.verifier?.fetch);
    return { ok: true as const };
  }),

  /** For the job host, once formed: its workers' public keys and their tickets' hashes. */
  cluster: publicProcedure.query(({ ctx }) => clusterOf(ctx.db, ctx.token)),

  /** The job host lets these members (by ticket hash) into its onion: their seats go to them now. */
  admitted: publicProcedure.input(z.unknown()).mutation(async ({ ctx, input }) => {
    await admitWorkers(ctx.db, ctx.token, input);
    return { ok: true as const };
  }),

  /** The job host lost these members (by ticket hash): their seats go to other workers. */
  replace: publicProcedure.input(z.unknown()).mutation(async ({ ctx, input }) => {
    await replaceWorkers(ctx.db, ctx.token, input);
    return { ok: true as const };
  }),

  /** The job host reports members (by ticket hash) whose results were outvoted: they lose standing. */
  report: publicProcedure.input(z.unknown()).mutation(async ({ ctx, input }) => ({
    lowered: await reportWorkers(ctx.db, ctx.token, input),
  })),

  /** The job is over: its workers are free for other requests. */
  finish: publicProcedure.mutation(async ({ ctx }) => {
    await finishRequest(ctx.db, ctx.token);
    return { ok: true as const };
  }),

  cancel: publicProcedure.mutation(async ({ ctx }) => {
    await cancelRequest(ctx.db, undefined, ctx.token);
    return { ok: true as const };
  }),
});

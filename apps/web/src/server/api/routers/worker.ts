// Volunteers' calls: register under a per-board pseudonym, long-poll for a seat, heartbeat, leave.
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { z } from "zod";
import { registerWorker, workerByToken } from "../../board/register-worker.ts";
import { heartbeat, leave, pollAssignment } from "../../board/worker-calls.ts";
import { createRouter, publicProcedure } from "../trpc.ts";

/** How often a held poll looks at the database again. */
const POLL_STEP_MS = 500;

// Inputs are parsed by the board's own functions, so that every refusal names its field the same
// way in the form, the API and the tests.
export const workerRouter = createRouter({
  register: publicProcedure.input(z.unknown()).mutation(async ({ ctx, input }) => {
    const registered = await registerWorker(ctx.db, ctx.settings, input);
    return {
      v: PROTOCOL_VERSION,
      ...registered,
      heartbeatMs: Math.floor(ctx.settings.workerStaleMs / 4),
      pollMs: ctx.settings.pollMs,
    };
  }),

  /** Held up to `pollMs` until the worker has a seat; the answer says `waiting` or `assigned`. */
  poll: publicProcedure.mutation(async ({ ctx, signal }) => {
    await workerByToken(ctx.db, ctx.token);
    const deadline = Date.now() + ctx.settings.pollMs;
    for (;;) {
      const assignment = await pollAssignment(ctx.db, ctx.token);
      if (assignment) return { v: PROTOCOL_VERSION, state: "assigned" as const, assignment };
      if (Date.now() + POLL_STEP_MS > deadline || signal?.aborted) {
        return { v: PROTOCOL_VERSION, state: "waiting" as const };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_STEP_MS));
    }
  }),

  heartbeat: publicProcedure.mutation(async ({ ctx }) => {
    await heartbeat(ctx.db, ctx.token);
    return { v: PROTOCOL_VERSION, ok: true as const };
  }),

  leave: publicProcedure.mutation(async ({ ctx }) => {
    await leave(ctx.db, ctx.token);
    return { v: PROTOCOL_VERSION, ok: true as const };
  }),
});

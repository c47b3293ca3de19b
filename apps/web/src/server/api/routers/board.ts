// What the board says of itself: its onion (stamps and per-board keys are bound to it) and the stamp work it asks.
import { PROTOCOL_VERSION } from "@tormr/protocol/version";
import { createRouter, publicProcedure } from "../trpc.ts";

export const boardRouter = createRouter({
  info: publicProcedure.query(({ ctx }) => ({
    v: PROTOCOL_VERSION,
    onion: ctx.settings.onion,
    registerBits: ctx.settings.registerBits,
    postBits: ctx.settings.postBits,
  })),
});

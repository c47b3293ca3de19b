// The board's API: the routers composed, and its type for clients.
import { boardRouter } from "./routers/board.ts";
import { requestRouter } from "./routers/request.ts";
import { workerRouter } from "./routers/worker.ts";
import { createCallerFactory, createRouter } from "./trpc.ts";

export const appRouter = createRouter({
  board: boardRouter,
  worker: workerRouter,
  request: requestRouter,
});

export type AppRouter = typeof appRouter;

export const createCaller = createCallerFactory(appRouter);

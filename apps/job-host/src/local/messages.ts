// The messages between the local runner and its worker processes, checked on arrival.
import type { MapTaskOptions, MapTaskResult } from "@tormr/mapreduce/map-task";
import type { ReduceTaskOptions, ReduceTaskResult } from "@tormr/mapreduce/reduce-task";
import {
  type SealedOutput,
  sealedOutputSchema,
  type TaskExchange,
  workerKeysSchema,
} from "@tormr/protocol/task-exchange";
import { z } from "zod";
import type { SandboxChoice } from "./types.ts";

/** A task, and for a sealed job its exchange: the store, the grant and the wrapped input keys. */
export type TaskRequest =
  | {
      type: "map";
      id: number;
      options: Omit<MapTaskOptions, "onStatus" | "launch">;
      exchange?: TaskExchange;
      sandbox?: SandboxChoice;
    }
  | {
      type: "reduce";
      id: number;
      options: Omit<ReduceTaskOptions, "onStatus" | "launch">;
      exchange?: TaskExchange;
      sandbox?: SandboxChoice;
    };

const counterRecord = z.record(z.string(), z.record(z.string(), z.number()));

export const workerMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready"), keys: workerKeysSchema }),
  z.object({ type: z.literal("status"), id: z.number(), status: z.string() }),
  z.object({
    type: z.literal("done"),
    id: z.number(),
    result: z
      .object({
        attemptId: z.string(),
        counters: counterRecord,
        sealed: z.array(sealedOutputSchema).optional(),
      })
      .loose(),
  }),
  z.object({
    type: z.literal("failed"),
    id: z.number(),
    error: z.object({
      code: z.string(),
      message: z.string(),
      exitCode: z.number().nullable(),
      stderrTail: z.string(),
    }),
  }),
]);

export type WorkerMessage = z.infer<typeof workerMessageSchema>;
export type TaskResult = (MapTaskResult | ReduceTaskResult) & { sealed?: SealedOutput[] };

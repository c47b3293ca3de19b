// The messages between the local runner and its worker processes, checked on arrival.
import type { MapTaskOptions, MapTaskResult } from "@tormr/mapreduce/map-task";
import type { ReduceTaskOptions, ReduceTaskResult } from "@tormr/mapreduce/reduce-task";
import { z } from "zod";

export type TaskRequest =
  | { type: "map"; id: number; options: Omit<MapTaskOptions, "onStatus"> }
  | { type: "reduce"; id: number; options: Omit<ReduceTaskOptions, "onStatus"> };

const counterRecord = z.record(z.string(), z.record(z.string(), z.number()));

export const workerMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("status"), id: z.number(), status: z.string() }),
  z.object({
    type: z.literal("done"),
    id: z.number(),
    result: z.object({ attemptId: z.string(), counters: counterRecord }).loose(),
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
export type TaskResult = MapTaskResult | ReduceTaskResult;

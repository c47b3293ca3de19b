// One attempt of a sealed task, as the runner sees it: made for the worker that takes it, settled when it ends.
import type { WorkerKeys } from "@tormr/protocol/task-exchange";
import { BadResult, type IssuedTask } from "../master/task-grants.ts";
import type { TaskRequest } from "./messages.ts";
import type { SealedExchange } from "./sealed-exchange.ts";
import { type Attempt, AttemptFailed } from "./worker-pool.ts";

/**
 * A sealed attempt: its grant and wrapped keys are made for the worker that takes it. When it
 * ends, its grant is revoked, and a success commits its outputs (whose keys the master unwraps).
 */
export function sealedAttempt(
  exchange: SealedExchange,
  base: Omit<TaskRequest, "id">,
  issue: (keys: WorkerKeys) => Promise<IssuedTask>,
): Attempt {
  let issued: IssuedTask | undefined;
  return {
    request: async (keys) => {
      issued = await issue(keys);
      return { ...base, exchange: issued.exchange };
    },
    settle: async (result) => {
      if (!issued) return;
      await exchange.revoke(issued, result ? "attempt finished" : "attempt failed");
      if (!result) return;
      try {
        await exchange.commit(issued, result.sealed ?? []);
      } catch (error) {
        if (!(error instanceof BadResult)) throw error;
        // A report that does not hold up fails the attempt, like a crash: it is retried.
        throw new AttemptFailed({
          code: "ERR_BAD_RESULT",
          message: error.message,
          exitCode: null,
          stderrTail: "",
        });
      }
    },
  };
}

// A local worker process: runs the map and reduce attempts its parent sends, one at a time.

import { generateKeyPair } from "@tormr/crypto/keys";
import { MapReduceError } from "@tormr/mapreduce/errors";
import { type MapTaskOptions, runMapTask } from "@tormr/mapreduce/map-task";
import { type ReduceTaskOptions, runReduceTask } from "@tormr/mapreduce/reduce-task";
import { TaskFailure } from "@tormr/mapreduce/task-failure";
import { BwrapSandbox } from "@tormr/sandbox/bwrap";
import { DockerSandbox } from "@tormr/sandbox/docker";
import type { Sandbox } from "@tormr/sandbox/sandbox";
import { sandboxLauncher } from "@tormr/task-runner/sandbox-launcher";
import { runSealedMap, runSealedReduce, type WorkerIdentity } from "@tormr/task-runner/sealed-task";
import type { TaskRequest, TaskResult, WorkerMessage } from "./messages.ts";
import type { SandboxChoice } from "./types.ts";

function send(message: WorkerMessage | { type: "done"; id: number; result: TaskResult }): void {
  // The runner may have let this worker go (a finished or cancelled job): then there is no one to
  // tell, and a write to the closed channel (EPIPE) is no error, just the end of this worker.
  if (!process.connected) return;
  process.send?.(message, undefined, undefined, (error) => {
    if (error) process.exit(0);
  });
}

/** A full collection between tasks keeps the process near its budget (a few tens of ms). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function run(request: TaskRequest): Promise<void> {
  const onStatus = (status: string) => send({ type: "status", id: request.id, status });
  try {
    const launch = request.sandbox ? launcherFor(request.sandbox) : undefined;
    const options = { ...request.options, onStatus, ...(launch ? { launch } : {}) };
    let result: TaskResult;
    if (request.type === "map") {
      result = request.exchange
        ? await runSealedMap(options as MapTaskOptions, request.exchange, identity)
        : await runMapTask(options as MapTaskOptions);
    } else {
      result = request.exchange
        ? await runSealedReduce(options as ReduceTaskOptions, request.exchange, identity)
        : await runReduceTask(options as ReduceTaskOptions);
    }
    collectGarbage();
    send({ type: "done", id: request.id, result });
  } catch (error) {
    collectGarbage();
    const e = error instanceof Error ? error : new Error(String(error));
    send({
      type: "failed",
      id: request.id,
      error: {
        code: e instanceof MapReduceError ? e.code : "ERR_INTERNAL",
        message: e.message,
        exitCode: e instanceof TaskFailure ? e.exitCode : null,
        stderrTail: e instanceof TaskFailure ? e.stderrTail : (e.stack ?? ""),
      },
    });
  }
}

/** One sandbox per worker process, made when the first sandboxed task comes. */
let sandbox: Sandbox | undefined;
function launcherFor(choice: SandboxChoice) {
  sandbox ??=
    choice.kind === "bwrap"
      ? new BwrapSandbox()
      : new DockerSandbox(choice.dockerHost ? { host: choice.dockerHost } : {});
  return sandboxLauncher(sandbox, {
    ...(choice.limits ? { limits: choice.limits } : {}),
    ...(choice.kind === "docker" ? { image: choice.image } : {}),
  });
}

// This worker's keys live and die with the process: the runner only ever sees their public halves.
const identity: WorkerIdentity = {
  signing: generateKeyPair("Ed25519"),
  wrapping: generateKeyPair("X25519"),
};

if (!process.send) {
  console.error("task-worker: start me with child_process.fork, not by hand");
  process.exit(2);
}
process.on("message", (request: TaskRequest) => void run(request));
// When the runner goes away, so do its workers.
process.on("disconnect", () => process.exit(0));
send({
  type: "ready",
  keys: {
    signing: identity.signing.publicKey.toString("base64url"),
    wrapping: identity.wrapping.publicKey.toString("base64url"),
  },
});

// `tormr-board start`: the built board on 127.0.0.1, published as an onion service with a persistent key, until SIGINT or SIGTERM.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { watchDescriptorUpload } from "@tormr/tor/control/events";
import { addOnion, delOnion } from "@tormr/tor/control/onion-service";
import { freePorts } from "@tormr/tor/free-ports";
import { loadOrCreateOnionKey } from "@tormr/tor/onion-key";
import { attachTor, waitForBootstrap } from "@tormr/tor/tor-process";
import { APP, ensureBuilt } from "./next-build.ts";

/**
 * Next with the hot paths in front of it (the home page from memory, the API on node:http),
 * instead of `next start`: see its header and docs/board-operator.md, "Performance".
 */
const SERVER = join(APP, "src", "server", "fast", "board-server.ts");

export interface ServeOptions {
  stateDir: string;
  /** The board's loopback port (src/server/fast/board-server.ts); 0 picks a free one. */
  port: number;
  /** tor's control port, or undefined for `--local` (loopback only, no onion). */
  torControl: { host: string; port: number } | undefined;
  registerBits?: number;
  postBits?: number;
  say: (line: string) => void;
  /** Resolves when the board should stop. */
  stopped: Promise<unknown>;
}

async function untilAnswers(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the board's server did not start:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs the board until `stopped`; resolves with the exit code. */
export async function serveBoard(options: ServeOptions): Promise<number> {
  await ensureBuilt(options.say, "board");
  // The address is known before anything is published: stamps and pseudonyms are bound to it.
  const key = await loadOrCreateOnionKey(join(options.stateDir, "onion-key.json"));
  if (key.created)
    options.say(`made a new onion key in ${join(options.stateDir, "onion-key.json")}: back it up`);
  const port = options.port || ((await freePorts(1))[0] as number);
  let output = "";
  const next = spawn(process.execPath, ["--import", "tsx", SERVER, "--port", String(port)], {
    cwd: APP,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      // What `next start` sets itself: React and Next in production mode.
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      TORMR_BOARD_DB: join(options.stateDir, "board.db"),
      TORMR_BOARD_ONION: key.serviceId,
      // Requests are verified by fetching a challenge from their job host's onion through this
      // tor, as a client it lets in; a --local board has no tor and takes every onion on trust.
      ...(options.torControl
        ? {
            TORMR_BOARD_TOR_CONTROL: `${options.torControl.host}:${options.torControl.port}`,
            TORMR_BOARD_CLIENT_AUTH_FILE: join(options.stateDir, "verify-client-auth.json"),
          }
        : { TORMR_BOARD_VERIFY: "off" }),
      ...(options.registerBits !== undefined
        ? { TORMR_BOARD_REGISTER_BITS: String(options.registerBits) }
        : {}),
      ...(options.postBits !== undefined
        ? { TORMR_BOARD_POST_BITS: String(options.postBits) }
        : {}),
    },
  });
  for (const stream of [next.stdout, next.stderr]) {
    stream?.on("data", (chunk: Buffer) => {
      output = `${output}${chunk.toString()}`.slice(-4000);
    });
  }
  const exited = new Promise<number>((resolve) => next.once("exit", (code) => resolve(code ?? 1)));
  let tor: Awaited<ReturnType<typeof attachTor>> | undefined;
  try {
    await untilAnswers(`http://127.0.0.1:${port}/`, next, () => output);
    options.say(`serving on http://127.0.0.1:${port}`);
    if (options.torControl) {
      tor = await attachTor({
        host: options.torControl.host,
        controlPort: options.torControl.port,
      });
      await waitForBootstrap(tor.control, { timeoutMs: 300_000 });
      const upload = await watchDescriptorUpload(tor.control, 120_000);
      await addOnion(tor.control, {
        keyBlob: key.keyBlob,
        ports: [{ virtualPort: 80, target: port }],
      });
      await upload.uploaded(key.serviceId, { everywhere: true });
      options.say(`onion: http://${key.serviceId}.onion`);
    } else {
      options.say(
        `--local: not published; this board's address would be http://${key.serviceId}.onion`,
      );
    }
    const lost = tor?.control.ended.then(
      () => "tor's control connection closed, and the onion with it",
    );
    const why = await Promise.race([
      options.stopped.then(() => undefined),
      exited.then((code) => `the board's server exited (${code}):\n${output}`),
      ...(lost ? [lost] : []),
    ]);
    if (why) {
      options.say(`stopping: ${why}`);
      return 1;
    }
    options.say("stopping");
    return 0;
  } finally {
    if (tor) {
      await delOnion(tor.control, key.serviceId).catch(() => {});
      await tor.control.close();
    }
    if (next.exitCode === null) {
      next.kill("SIGTERM");
      await exited;
    }
  }
}

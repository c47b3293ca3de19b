// `tormr console`: the requester console beside a running job host, on its own 127.0.0.1 port, until SIGINT or SIGTERM.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { readEndpoints } from "@tormr/protocol/host-endpoints";
import { freePorts } from "@tormr/tor/free-ports";
import { APP, ensureBuilt } from "./next-build.ts";

const SERVER = join(APP, "src", "server", "console", "console-server.ts");

export interface ConsoleOptions {
  /** The running job host's state folder. */
  stateDir: string;
  /** 0 picks a free port. */
  port: number;
  /** The sandbox of the workers the console starts on this machine. */
  sandbox: "bwrap" | "docker" | "none";
  say: (line: string) => void;
  /** Called once with the URL that opens the console (it works once). */
  onUrl: (url: string) => void;
  /** Resolves when the console should stop. */
  stopped: Promise<unknown>;
}

/** Runs the console until `stopped`, or until its server exits; resolves with the exit code. */
export async function serveConsole(options: ConsoleOptions): Promise<number> {
  // Fails now, with how to start one, if no job host runs there.
  await readEndpoints(options.stateDir);
  await ensureBuilt(options.say, "console");
  const port = options.port || ((await freePorts(1))[0] as number);
  const child = spawn(process.execPath, ["--import", "tsx", SERVER, "--port", String(port)], {
    cwd: APP,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      TORMR_CONSOLE_STATE_DIR: options.stateDir,
      TORMR_CONSOLE_PROXY_SECRET: randomBytes(32).toString("base64url"),
      TORMR_CONSOLE_WORKER_SANDBOX: options.sandbox,
    },
  });
  let log = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    log = `${log}${chunk.toString()}`.slice(-4000);
  });
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  const ready = new Promise<string>((resolve) => {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const url = /^\{"url":"(http:\/\/127\.0\.0\.1:\d+\/console\/open\?key=[\w-]+)"\}$/.exec(
        line,
      )?.[1];
      if (url) resolve(url);
    });
  });
  try {
    const first = await Promise.race([ready, exited.then((code) => ({ code }))]);
    if (typeof first !== "string") {
      options.say(`the console's server exited (${first.code}) before it served:\n${log}`);
      return 1;
    }
    options.onUrl(first);
    const why = await Promise.race([
      options.stopped.then(() => undefined),
      exited.then((code) => `the console's server exited (${code}):\n${log}`),
    ]);
    if (why) {
      options.say(why);
      return 1;
    }
    return 0;
  } finally {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  }
}

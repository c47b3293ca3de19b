// A tor daemon: launch one with its own DataDirectory and torrc, or attach to a running one; bootstrap, then stop cleanly.
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { authenticate } from "./control/authenticate.ts";
import { type BootstrapPhase, bootstrapPhase, socksListeners } from "./control/get-info.ts";
import { TorControl } from "./control/tor-control.ts";
import { TorError } from "./errors.ts";
import { renderTorrc, type TorrcOptions } from "./torrc.ts";

export interface SocksAddress {
  host: string;
  port: number;
}

export interface LaunchTorOptions {
  /** Absolute path; made 0700. tor keeps its keys, state, cookie and log here. */
  dataDirectory: string;
  /** More torrc options, applied after the defaults below. */
  options?: TorrcOptions;
  /** A SocksPort line ("auto ExtendedErrors" by default), or 0 for none. */
  socksPort?: string | 0;
  torBinary?: string;
  /** tor exits on its own when this process ends (__OwningControllerProcess): a backstop for crashed tests. */
  ownerPid?: number;
  /** Let tor outlive this node process (its own process group, no stdio). */
  detached?: boolean;
  startTimeoutMs?: number;
}

export interface TorProcess {
  pid: number;
  dataDirectory: string;
  controlPort: number;
  /** An authenticated control connection. */
  control: TorControl;
  socks: SocksAddress | undefined;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** The tail of tor's log, to explain why it stopped. */
async function logTail(dataDirectory: string): Promise<string> {
  const log = await readFile(join(dataDirectory, "notice.log"), "utf8").catch(() => "");
  return log.trim().split("\n").slice(-5).join(" | ");
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`, then waits until the pid is gone. Works for any pid, child or not. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {}
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(25);
  if (processAlive(pid)) signal("SIGKILL");
  while (processAlive(pid)) await sleep(10);
}

/**
 * Starts tor with a generated torrc: ControlPort and SocksPort on free ports chosen by tor
 * itself ("auto", read back from ControlPortWriteToFile and GETINFO), cookie authentication.
 * @throws TorError ERR_TOR_NOT_INSTALLED, ERR_TOR_EXITED (with the log's tail), ERR_TOR_TIMEOUT.
 */
export async function launchTor(options: LaunchTorOptions): Promise<TorProcess> {
  const dir = options.dataDirectory;
  if (!isAbsolute(dir)) {
    throw new TorError("ERR_TOR_ARGUMENT", `expected an absolute DataDirectory, got ${dir}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const portFile = join(dir, "control-port");
  const torrcPath = join(dir, "torrc");
  const torrc: TorrcOptions = {
    DataDirectory: dir,
    ControlPort: "127.0.0.1:auto",
    ControlPortWriteToFile: portFile,
    CookieAuthentication: 1,
    SocksPort:
      options.socksPort === undefined ? "127.0.0.1:auto ExtendedErrors" : options.socksPort,
    Log: `notice file ${join(dir, "notice.log")}`,
    RunAsDaemon: 0,
    ...(options.ownerPid ? { __OwningControllerProcess: options.ownerPid } : {}),
    ...options.options,
  };
  await writeFile(torrcPath, renderTorrc(torrc), { mode: 0o600 });

  const child = spawn(
    options.torBinary ?? "tor",
    ["-f", torrcPath, "--defaults-torrc", "/dev/null"],
    {
      stdio: "ignore",
      detached: options.detached ?? false,
    },
  );
  if (options.detached) child.unref();
  let exited: string | undefined;
  let notInstalled = false;
  child.on("error", (error: NodeJS.ErrnoException) => {
    notInstalled = error.code === "ENOENT";
    exited = error.message;
  });
  child.on("exit", (code, signal) => {
    exited = `exit ${code ?? signal}`;
  });

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let controlPort: number | undefined;
  while (controlPort === undefined) {
    if (notInstalled) {
      throw new TorError(
        "ERR_TOR_NOT_INSTALLED",
        `cannot run '${options.torBinary ?? "tor"}': not installed; run 'npm run setup' or 'apt-get install tor'`,
      );
    }
    if (exited) {
      throw new TorError(
        "ERR_TOR_EXITED",
        `tor stopped while starting (${exited}): ${await logTail(dir)}`,
      );
    }
    if (Date.now() > deadline) {
      if (child.pid) await stopPid(child.pid, 1000);
      throw new TorError(
        "ERR_TOR_TIMEOUT",
        `tor opened no control port in time: ${await logTail(dir)}`,
      );
    }
    const text = await readFile(portFile, "utf8").catch(() => "");
    const match = /PORT=127\.0\.0\.1:(\d+)/.exec(text);
    if (match) controlPort = Number(match[1]);
    else await sleep(25);
  }
  const pid = child.pid ?? 0;
  try {
    const control = await TorControl.connect({ port: controlPort });
    await authenticate(control, { cookieFile: join(dir, "control_auth_cookie") });
    const socks = options.socksPort === 0 ? undefined : (await socksListeners(control))[0];
    return {
      pid,
      dataDirectory: dir,
      controlPort,
      control,
      socks,
      async stop(graceMs = 5000) {
        await control.close();
        await stopPid(pid, graceMs);
      },
    };
  } catch (error) {
    await stopPid(pid, 1000);
    throw error;
  }
}

export interface AttachOptions {
  host?: string;
  /** 9051 by default, as in Debian's torrc. */
  controlPort?: number;
  password?: string;
  cookieFile?: string;
}

/** Connects to a tor that is already running (the system tor) and finds its SOCKS port. */
export async function attachTor(
  options: AttachOptions = {},
): Promise<{ control: TorControl; socks: SocksAddress | undefined }> {
  const control = await TorControl.connect({
    host: options.host,
    port: options.controlPort ?? 9051,
  });
  try {
    await authenticate(control, { password: options.password, cookieFile: options.cookieFile });
    return { control, socks: (await socksListeners(control))[0] };
  } catch (error) {
    await control.close();
    throw error;
  }
}

/**
 * Polls `status/bootstrap-phase` until tor reports 100 %, calling `onProgress` on each change.
 * @throws TorError ERR_TOR_TIMEOUT with the last phase and tor's warning, if any.
 */
export async function waitForBootstrap(
  control: TorControl,
  options: { timeoutMs?: number; onProgress?: (phase: BootstrapPhase) => void } = {},
): Promise<BootstrapPhase> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let last: BootstrapPhase | undefined;
  for (;;) {
    const phase = await bootstrapPhase(control);
    if (phase.progress !== last?.progress || phase.tag !== last?.tag) options.onProgress?.(phase);
    last = phase;
    if (phase.progress >= 100) return phase;
    if (Date.now() > deadline) {
      throw new TorError(
        "ERR_TOR_TIMEOUT",
        `tor stuck at ${phase.progress}% (${phase.summary})${phase.warning ? `: ${phase.warning}` : ""}`,
      );
    }
    await sleep(200);
  }
}

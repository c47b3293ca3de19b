// One control-port connection: commands queued one at a time (control-spec §2.1), replies matched in order, events fanned out.
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { TorError } from "../errors.ts";
import { describeReply, type Reply, ReplyParser } from "./reply-parser.ts";

export const DEFAULT_COMMAND_TIMEOUT_MS = 15_000;

export interface ConnectOptions {
  host?: string;
  port: number;
  /** How long to wait for the TCP connection. */
  timeoutMs?: number;
  /** Default time allowed for each command's reply. */
  commandTimeoutMs?: number;
}

export type EventListener = (event: Reply) => void;

interface Pending {
  command: string;
  timeoutMs: number;
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/**
 * A connection to tor's control port. Commands go out one at a time: tor answers in order
 * (§2.1), and waiting for each reply keeps a timed-out command from shifting every later answer.
 */
export class TorControl {
  readonly #socket: Socket;
  readonly #queue: Pending[] = [];
  #current: (Pending & { timer: NodeJS.Timeout }) | undefined;
  readonly #listeners = new Map<string, Set<EventListener>>();
  #closedBy: TorError | undefined;
  readonly #closedWith: { promise: Promise<TorError>; resolve: (error: TorError) => void };
  readonly commandTimeoutMs: number;

  private constructor(socket: Socket, commandTimeoutMs: number) {
    this.#socket = socket;
    this.commandTimeoutMs = commandTimeoutMs;
    let resolve: (error: TorError) => void = () => {};
    this.#closedWith = { promise: new Promise((r) => (resolve = r)), resolve };
    const parser = new ReplyParser({
      onReply: (reply) => this.#settle(reply),
      onEvent: (event) => this.#dispatch(event),
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (error) {
        this.#fail(error as TorError);
      }
    });
    socket.on("error", (error) =>
      this.#fail(new TorError("ERR_TOR_CLOSED", `control connection failed: ${error.message}`)),
    );
    socket.on("close", () =>
      this.#fail(new TorError("ERR_TOR_CLOSED", "tor closed the control connection")),
    );
  }

  /** Opens a control connection (unauthenticated: call `authenticate` next). */
  static async connect(options: ConnectOptions): Promise<TorControl> {
    const host = options.host ?? "127.0.0.1";
    const socket = connect({ host, port: options.port });
    const timer = setTimeout(
      () => socket.destroy(new Error(`no answer within ${options.timeoutMs ?? 5000} ms`)),
      options.timeoutMs ?? 5000,
    );
    try {
      await once(socket, "connect");
    } catch (error) {
      throw new TorError(
        "ERR_TOR_CONNECT",
        `cannot reach tor's control port at ${host}:${options.port}: ${(error as Error).message}; is tor running with ControlPort ${options.port}?`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
    socket.setNoDelay(true);
    return new TorControl(socket, options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);
  }

  /** Resolves with why the connection ended: `close()`, tor going away, or a protocol error. */
  get ended(): Promise<TorError> {
    return this.#closedWith.promise;
  }

  get closed(): boolean {
    return this.#closedBy !== undefined;
  }

  /**
   * Sends one command line and resolves with tor's reply when its status is 2xx.
   * @throws TorError ERR_TOR_COMMAND quoting tor's answer, ERR_TOR_TIMEOUT, ERR_TOR_CLOSED.
   */
  send(command: string, options: { timeoutMs?: number } = {}): Promise<Reply> {
    if (/[\r\n]/.test(command)) {
      // One command per line (§2.2): a CR or LF inside would smuggle in a second command.
      return Promise.reject(
        new TorError("ERR_TOR_ARGUMENT", `a control command cannot contain CR or LF: ${command}`),
      );
    }
    if (this.#closedBy) return Promise.reject(this.#closedBy);
    return new Promise<Reply>((resolve, reject) => {
      this.#queue.push({
        command,
        timeoutMs: options.timeoutMs ?? this.commandTimeoutMs,
        resolve,
        reject,
      });
      this.#next();
    });
  }

  /** Listens to one event type (the first word of a 650 reply, e.g. "HS_DESC"). Returns an unsubscribe. */
  on(eventType: string, listener: EventListener): () => void {
    let set = this.#listeners.get(eventType);
    if (!set) {
      set = new Set();
      this.#listeners.set(eventType, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Closes the connection; queued commands fail with ERR_TOR_CLOSED. */
  async close(): Promise<void> {
    const closing = this.#socket.closed ? undefined : once(this.#socket, "close");
    this.#fail(new TorError("ERR_TOR_CLOSED", "the control connection was closed"));
    await closing;
  }

  #next(): void {
    if (this.#current || this.#closedBy) return;
    const pending = this.#queue.shift();
    if (!pending) return;
    const timer = setTimeout(() => {
      // A reply may still come: the stream can no longer be matched to commands, so give it up.
      this.#fail(
        new TorError(
          "ERR_TOR_TIMEOUT",
          `tor did not answer '${redact(pending.command)}' within ${pending.timeoutMs} ms`,
        ),
      );
      this.#socket.destroy();
    }, pending.timeoutMs);
    this.#current = { ...pending, timer };
    this.#socket.write(`${pending.command}\r\n`);
  }

  #settle(reply: Reply): void {
    const current = this.#current;
    if (!current) {
      this.#fail(
        new TorError("ERR_TOR_PROTOCOL", `tor answered no command: ${describeReply(reply)}`),
      );
      return;
    }
    clearTimeout(current.timer);
    this.#current = undefined;
    if (reply.status >= 200 && reply.status < 300) current.resolve(reply);
    else {
      current.reject(
        new TorError(
          "ERR_TOR_COMMAND",
          `tor refused '${redact(current.command)}': ${describeReply(reply)}`,
        ),
      );
    }
    this.#next();
  }

  #dispatch(event: Reply): void {
    const type = event.lines[0]?.text.split(" ", 1)[0] ?? "";
    for (const listener of this.#listeners.get(type) ?? []) listener(event);
  }

  #fail(error: TorError): void {
    if (this.#closedBy) return;
    this.#closedBy = error;
    this.#closedWith.resolve(error);
    if (this.#current) {
      clearTimeout(this.#current.timer);
      this.#current.reject(error);
      this.#current = undefined;
    }
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    this.#socket.destroy();
  }
}

/** Secrets never reach an error message: keys, cookies and passwords are cut from the command. */
export function redact(command: string): string {
  const verb = command.split(" ", 1)[0] ?? "";
  if (verb === "AUTHENTICATE" || verb === "AUTHCHALLENGE") return `${verb} [redacted]`;
  return command
    .replace(/(ED25519-V3|x25519):\S+/g, "$1:[redacted]")
    .replace(/(ClientAuthV3=)\S+/g, "$1[redacted]");
}

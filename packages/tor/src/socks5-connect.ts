// A minimal SOCKS5 CONNECT (RFC 1928, RFC 1929) that sends the hostname to tor, never resolving it here; readiness checks and tests.
import { connect, type Socket } from "node:net";
import { TorError } from "./errors.ts";

/** RFC 1928 §6 replies, and tor's extended ones (tor manual, SocksPort ExtendedErrors). */
export const SOCKS_REPLIES: Record<number, string> = {
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired (tor could not reach the destination in time)",
  7: "command not supported",
  8: "address type not supported",
  240: "onion service descriptor can not be found",
  241: "onion service descriptor is invalid",
  242: "onion service introduction failed",
  243: "onion service rendezvous failed",
  244: "onion service needs client authorization, and this client has no key for it",
  245: "onion service refused this client's authorization key",
  246: "not a valid onion address",
  247: "onion service introduction timed out",
};

export interface Socks5ConnectOptions {
  proxy: { host?: string; port: number };
  host: string;
  port: number;
  /** RFC 1929 credentials; tor gives each distinct pair its own circuits (IsolateSOCKSAuth). */
  auth?: { username: string; password: string };
  timeoutMs?: number;
}

/**
 * Opens a TCP stream to `host:port` through a SOCKS5 proxy, with the name in an ATYP 3 request
 * (RFC 1928 §5) so tor resolves it. Resolves with the connected socket.
 * @throws TorError ERR_SOCKS with `socksReply` set when the proxy refuses, ERR_TOR_TIMEOUT, ERR_TOR_CONNECT.
 */
export function socks5Connect(options: Socks5ConnectOptions): Promise<Socket> {
  const host = Buffer.from(options.host, "utf8");
  if (host.length === 0 || host.length > 255) {
    return Promise.reject(
      new TorError("ERR_TOR_ARGUMENT", `expected a hostname of 1-255 bytes, got ${host.length}`),
    );
  }
  const proxyHost = options.proxy.host ?? "127.0.0.1";
  const timeoutMs = options.timeoutMs ?? 60_000;
  const socket = connect({ host: proxyHost, port: options.proxy.port });
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    wake?.();
  };
  const onEnd = (error?: Error) => {
    failure ??= error ?? new Error("the proxy closed the connection");
    wake?.();
  };
  socket.on("data", onData);
  socket.on("error", onEnd);
  socket.on("close", () => onEnd());

  const read = async (count: number): Promise<Buffer> => {
    while (buffered.length < count) {
      if (failure) throw failure;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    const out = buffered.subarray(0, count);
    buffered = buffered.subarray(count);
    return out;
  };

  const handshake = async (): Promise<Socket> => {
    const method = options.auth ? 0x02 : 0x00;
    socket.write(Buffer.from([0x05, 0x01, method]));
    const choice = await read(2);
    if (choice[0] !== 0x05 || choice[1] !== method) {
      throw new TorError(
        "ERR_SOCKS",
        `the proxy at ${proxyHost}:${options.proxy.port} refused SOCKS5 method ${method}`,
      );
    }
    if (options.auth) {
      const user = Buffer.from(options.auth.username);
      const pass = Buffer.from(options.auth.password);
      socket.write(
        Buffer.concat([Buffer.from([0x01, user.length]), user, Buffer.from([pass.length]), pass]),
      );
      const status = await read(2);
      if (status[1] !== 0x00)
        throw new TorError("ERR_SOCKS", "the proxy refused the SOCKS username and password");
    }
    const port = Buffer.from([options.port >> 8, options.port & 0xff]);
    socket.write(Buffer.concat([Buffer.from([0x05, 0x01, 0x00, 0x03, host.length]), host, port]));
    const head = await read(5);
    const reply = head[1] ?? 0x01;
    const rest =
      head[3] === 0x01 ? 5 : head[3] === 0x04 ? 17 : head[3] === 0x03 ? (head[4] ?? 0) + 2 : 0;
    await read(rest).catch(() => undefined);
    if (reply !== 0x00) {
      const meaning = SOCKS_REPLIES[reply] ?? "unknown SOCKS reply";
      throw new TorError(
        "ERR_SOCKS",
        `cannot reach ${options.host}:${options.port} through SOCKS ${proxyHost}:${options.proxy.port}: 0x${reply.toString(16)} ${meaning}`,
        { socksReply: reply },
      );
    }
    socket.off("data", onData);
    // Bytes the destination sent along with the reply belong to the caller.
    if (buffered.length > 0) socket.unshift(buffered);
    return socket;
  };

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new TorError(
            "ERR_TOR_TIMEOUT",
            `SOCKS connect to ${options.host}:${options.port} took over ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  return Promise.race([handshake(), timeout]).then(
    (connected) => {
      clearTimeout(timer);
      connected.removeAllListeners("error");
      connected.removeAllListeners("close");
      return connected;
    },
    (error: unknown) => {
      clearTimeout(timer);
      socket.destroy();
      if (error instanceof TorError) throw error;
      throw new TorError(
        "ERR_TOR_CONNECT",
        `SOCKS proxy ${proxyHost}:${options.proxy.port}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    },
  );
}

/** Fetches `path` with HTTP/1.0 over a SOCKS5 stream; resolves with the whole response text. */
export async function fetchThroughSocks(
  options: Socks5ConnectOptions & { path?: string },
): Promise<string> {
  const socket = await socks5Connect(options);
  socket.write(`GET ${options.path ?? "/"} HTTP/1.0\r\nHost: ${options.host}\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

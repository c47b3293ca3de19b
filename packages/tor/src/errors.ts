// The Tor layer's one error type: a stable code, and a message that quotes what tor answered.

export type TorErrorCode =
  /** A caller passed a value of the wrong shape (a programming error). */
  | "ERR_TOR_ARGUMENT"
  /** The control port could not be reached, or the connection closed. */
  | "ERR_TOR_CONNECT"
  | "ERR_TOR_CLOSED"
  /** tor did not answer a command, or did not reach a state, in time. */
  | "ERR_TOR_TIMEOUT"
  /** tor answered a command with an error status (4xx/5xx); the message quotes the answer. */
  | "ERR_TOR_COMMAND"
  /** tor's answer did not follow the control-spec grammar. */
  | "ERR_TOR_PROTOCOL"
  /** No authentication method worked, or the server failed the SAFECOOKIE check. */
  | "ERR_TOR_AUTH"
  /** The tor binary is not installed, or the process exited before it was ready. */
  | "ERR_TOR_NOT_INSTALLED"
  | "ERR_TOR_EXITED"
  /** A v3 onion address is malformed (length, alphabet, version or checksum). */
  | "ERR_ONION_ADDRESS"
  /** An onion service key is malformed, or its address is not the one tor reported. */
  | "ERR_ONION_KEY"
  /** A key file is readable by others, or cannot be read as a key file. */
  | "ERR_ONION_KEY_PERMISSIONS"
  | "ERR_ONION_KEY_CORRUPT"
  /** A SOCKS proxy refused a connection; `socksReply` holds the reply code. */
  | "ERR_SOCKS"
  /** Tor mode was asked to reach something that is not a v3 onion address (fail closed). */
  | "ERR_NOT_ONION"
  /** The private test network could not be started or found. */
  | "ERR_TESTNET";

export class TorError extends Error {
  override readonly name = "TorError";
  constructor(
    readonly code: TorErrorCode,
    message: string,
    options?: { cause?: unknown; socksReply?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.socksReply = options?.socksReply;
  }

  /** The SOCKS5 reply code (RFC 1928 §6, tor's extended 0xF0–0xF7) for ERR_SOCKS. */
  readonly socksReply: number | undefined;
}

// Incremental parser for tor's control-port replies (control-spec §2.3), fed raw TCP chunks.
import { StringDecoder } from "node:string_decoder";
import { TorError } from "../errors.ts";

/** One line of a reply: `250-key=value`, `250 OK`, or `250+key=` followed by a data block. */
export interface ReplyLine {
  status: number;
  /** The text after the status code and its separator. */
  text: string;
  /** For a `+` line, the data block: dot-unstuffed, lines joined with "\n", no final newline. */
  data?: string;
}

/** A whole reply: the status of its final line, and every line in order. */
export interface Reply {
  status: number;
  lines: ReplyLine[];
}

export interface ReplyParserHandlers {
  /** A synchronous reply (any status but 6xx): the answer to the oldest outstanding command. */
  onReply(reply: Reply): void;
  /** An asynchronous event (status 6xx, control-spec §4.1). */
  onEvent(event: Reply): void;
}

const LINE = /^(\d{3})([ +-])(.*)$/;

/**
 * Splits the byte stream into replies. Lines may arrive in any chunking. Event lines (6xx) are
 * gathered apart from command replies, so an event that arrives between the lines of a multi-line
 * reply disturbs neither (§2.3 forbids it, but a parser that survives it costs nothing).
 */
export class ReplyParser {
  readonly #decoder = new StringDecoder("utf8");
  #buffer = "";
  #sync: ReplyLine[] = [];
  #async: ReplyLine[] = [];
  /** Set while reading the data block that follows a `+` line. */
  #data: { line: ReplyLine; lines: string[] } | undefined;

  constructor(private readonly handlers: ReplyParserHandlers) {}

  /** Feeds one chunk; calls the handlers for every reply it completes. */
  push(chunk: Buffer | string): void {
    this.#buffer += typeof chunk === "string" ? chunk : this.#decoder.write(chunk);
    for (;;) {
      const end = this.#buffer.indexOf("\n");
      if (end < 0) return;
      // Lines end in CRLF (§2.2); a bare LF is accepted too.
      const line = this.#buffer.slice(0, end).replace(/\r$/, "");
      this.#buffer = this.#buffer.slice(end + 1);
      this.#line(line);
    }
  }

  #line(line: string): void {
    if (this.#data) {
      if (line === ".") {
        this.#data.line.data = this.#data.lines.join("\n");
        this.#data = undefined;
        return;
      }
      // Dot-stuffing (§2.3): a data line that starts with "." was sent with one more ".".
      this.#data.lines.push(line.startsWith(".") ? line.slice(1) : line);
      return;
    }
    const match = LINE.exec(line);
    if (!match) {
      throw new TorError(
        "ERR_TOR_PROTOCOL",
        `tor sent a line that is not a control-spec reply line: ${JSON.stringify(line)}`,
      );
    }
    const status = Number(match[1]);
    const separator = match[2];
    const parsed: ReplyLine = { status, text: match[3] ?? "" };
    const target = status >= 600 && status < 700 ? this.#async : this.#sync;
    target.push(parsed);
    if (separator === "+") {
      this.#data = { line: parsed, lines: [] };
    } else if (separator === " ") {
      const reply: Reply = { status, lines: target.splice(0) };
      if (target === this.#async) this.handlers.onEvent(reply);
      else this.handlers.onReply(reply);
    }
  }
}

/** The text of a reply, as tor wrote it, for error messages: `552 Unrecognized key "x"`. */
export function describeReply(reply: Reply): string {
  return reply.lines.map((line) => `${line.status} ${line.text}`).join(" / ");
}

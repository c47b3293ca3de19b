// Records travel as byte strings: JS strings whose char codes are raw bytes (latin1), so byte order is string order.

// biome-ignore lint/suspicious/noControlCharactersInRegex: the range is all of ASCII on purpose.
const NON_ASCII = /[^\x00-\x7f]/;

/** A UTF-8 byte string for a JS string; free when the text is ASCII. */
export function toByteString(text: string): string {
  return NON_ASCII.test(text) ? Buffer.from(text, "utf8").toString("latin1") : text;
}

/** The text a byte string encodes as UTF-8 (invalid sequences become U+FFFD, as Hadoop's Text does). */
export function fromByteString(bytes: string): string {
  return NON_ASCII.test(bytes) ? Buffer.from(bytes, "latin1").toString("utf8") : bytes;
}

/** Splits byte chunks into lines without their '\n', carrying a partial line to the next chunk. */
export class LineSplitter {
  private carry = "";

  /** The complete lines in this chunk. */
  push(chunk: Buffer): string[] {
    const text = this.carry + chunk.toString("latin1");
    const lines = text.split("\n");
    this.carry = lines.pop() ?? "";
    return lines;
  }

  /** The last line, if the stream did not end with a newline. */
  end(): string[] {
    const rest = this.carry;
    this.carry = "";
    return rest.length > 0 ? [rest] : [];
  }
}

/** Joins byte-string lines into one newline-terminated buffer. */
export function linesToBuffer(lines: readonly string[]): Buffer {
  if (lines.length === 0) return Buffer.alloc(0);
  return Buffer.from(`${lines.join("\n")}\n`, "latin1");
}

/** Counts the newlines in a chunk. */
export function countLines(chunk: Buffer): number {
  let n = 0;
  for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) n++;
  return n;
}

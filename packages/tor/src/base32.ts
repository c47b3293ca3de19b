// RFC 4648 §6 base32 (lowercase out, either case in, no padding): onion addresses and client-auth keys.
import { TorError } from "./errors.ts";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

export function base32Encode(bytes: Uint8Array): string {
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** @throws TorError ERR_TOR_ARGUMENT naming the first character outside the alphabet. */
export function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const character of text.toLowerCase()) {
    const value = ALPHABET.indexOf(character);
    if (value < 0) {
      throw new TorError(
        "ERR_TOR_ARGUMENT",
        `expected base32 (a-z, 2-7), found ${JSON.stringify(character)}`,
      );
    }
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      bytes.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  return Buffer.from(bytes);
}

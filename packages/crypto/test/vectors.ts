// Loads the known-answer vectors in test/vectors/, checking their shape at the boundary.
import { readFileSync } from "node:fs";
import { z } from "zod";

const hex = z
  .string()
  .regex(/^([0-9a-f]{2})*$/)
  .transform((s) => Buffer.from(s, "hex"));

const hchacha20Schema = z.object({ source: z.string(), key: hex, input: hex, subkey: hex });

const xchachaSchema = z.object({
  source: z.string(),
  key: hex,
  nonce: hex,
  aad: hex,
  plaintext: hex,
  ciphertext: hex,
  tag: hex,
});

function load<T extends z.ZodType>(name: string, schema: T): z.infer<T> {
  const text = readFileSync(new URL(`./vectors/${name}`, import.meta.url), "utf8");
  return schema.parse(JSON.parse(text));
}

export const hchacha20Vector = () => load("hchacha20.json", hchacha20Schema);
export const xchachaVector = () => load("xchacha20-poly1305.json", xchachaSchema);

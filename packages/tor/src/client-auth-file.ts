// A client's v3 client-authorization key on its own disk (0600), kept apart from every other key it holds.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { z } from "zod";
import { base32Encode } from "./base32.ts";
import { type ClientAuthKeyPair, generateClientAuthKeyPair } from "./control/client-auth.ts";
import { TorError } from "./errors.ts";
import { readPrivateFile, writePrivateFile } from "./private-file.ts";

const fileSchema = z.object({
  version: z.literal(1),
  publicKey: z.string().regex(/^[A-Z2-7]{52}$/, "expected 52 base32 characters"),
  privateKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "expected 32 bytes in base64"),
  createdAt: z.string(),
});

/** RFC 8410 §7: a PKCS #8 X25519 private key is this prefix and the 32 key bytes. */
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The base32 public key of a base64 x25519 private key. */
function publicKeyOf(privateKey: string): string {
  const der = Buffer.concat([PKCS8_X25519, Buffer.from(privateKey, "base64")]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: "der", type: "pkcs8" })).export({
    format: "jwk",
  });
  return base32Encode(Buffer.from(jwk.x ?? "", "base64url")).toUpperCase();
}

/**
 * Loads the x25519 key pair this client shows onion services that require client authorization,
 * or makes one on first use. The private half goes only to the client's own tor
 * (ONION_CLIENT_AUTH_ADD); the public half to the services that should let it in.
 * @throws TorError ERR_ONION_KEY_PERMISSIONS, ERR_ONION_KEY_CORRUPT naming the file.
 */
export async function loadOrCreateClientAuthKey(
  path: string,
): Promise<ClientAuthKeyPair & { created: boolean }> {
  const text = await readPrivateFile(path, "a Tor client-authorization key");
  if (text !== undefined) {
    let parsed: z.ZodSafeParseResult<z.infer<typeof fileSchema>>;
    try {
      parsed = fileSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = fileSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TorError(
        "ERR_ONION_KEY_CORRUPT",
        `${path} is not a client-authorization key file (${issue?.path.join(".") || "not JSON"}: ${issue?.message}); move it away to make a new key`,
      );
    }
    if (publicKeyOf(parsed.data.privateKey) !== parsed.data.publicKey) {
      throw new TorError(
        "ERR_ONION_KEY_CORRUPT",
        `${path} holds a public key that is not its private key's; move it away to make a new key`,
      );
    }
    return { publicKey: parsed.data.publicKey, privateKey: parsed.data.privateKey, created: false };
  }
  const pair = generateClientAuthKeyPair();
  const body = { version: 1, ...pair, createdAt: new Date().toISOString() };
  await writePrivateFile(path, `${JSON.stringify(body, null, 2)}\n`);
  return { ...pair, created: true };
}

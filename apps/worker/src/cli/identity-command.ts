// `tormr-worker identity`: the pseudonym and public keys (never the private ones), made on first use.
import { join, resolve } from "node:path";
import { loadOrCreateClientAuthKey } from "@tormr/tor/client-auth-file";
import { IDENTITY_FILE, loadOrCreateIdentity } from "../identity.ts";
import { CLIENT_AUTH_FILE } from "../tor-link.ts";
import { EXIT, type ExitCode } from "./exit-codes.ts";
import type { CliIo } from "./io.ts";

export interface IdentityFlags {
  configDir?: string;
  json?: boolean;
}

export async function identityCommand(flags: IdentityFlags, io: CliIo): Promise<ExitCode> {
  const dir = flags.configDir ? resolve(io.cwd, flags.configDir) : io.env.configDir;
  const { identity, created } = await loadOrCreateIdentity(dir);
  const tor = await loadOrCreateClientAuthKey(join(dir, CLIENT_AUTH_FILE));
  // Only public values are picked here, so no later field can carry a private key out by accident.
  const shown = {
    pseudonym: identity.pseudonym,
    signingKey: identity.signing.publicKey.toString("base64url"),
    wrappingKey: identity.wrapping.publicKey.toString("base64url"),
    torClientAuthKey: tor.publicKey,
    file: join(dir, IDENTITY_FILE),
    created,
  };
  if (flags.json === true) {
    io.stdout.write(`${JSON.stringify(shown)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    [
      `pseudonym     ${shown.pseudonym}`,
      `signing key   ${shown.signingKey}  (Ed25519, public)`,
      `wrapping key  ${shown.wrappingKey}  (X25519, public)`,
      `tor key       ${shown.torClientAuthKey}  (X25519, public: Tor client authorization)`,
      `file          ${shown.file}${created ? "  (made now)" : ""}`,
      "",
    ].join("\n"),
  );
  return EXIT.ok;
}

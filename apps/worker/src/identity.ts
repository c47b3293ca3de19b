// The worker's pseudonymous identity: the shared identity file, under the worker's config folder.
import { homedir } from "node:os";
import { join } from "node:path";

export {
  IDENTITY_FILE,
  IdentityError,
  loadOrCreateIdentity,
  type WorkerIdentity,
} from "@tormr/crypto/identity-file";

/** `$XDG_CONFIG_HOME/tormr-worker`, or `~/.config/tormr-worker`. */
export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "tormr-worker");
}

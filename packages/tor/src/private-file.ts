// Private key files: written 0600 (folder 0700) through a temporary file and a rename, read only when nobody else can.
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { TorError } from "./errors.ts";

/** Writes `text` so that a crash never leaves half a key, and nobody but the owner can read it. */
export async function writePrivateFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = join(dirname(path), `.key.${randomBytes(6).toString("hex")}`);
  const handle = await open(temporary, "wx", 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
}

/**
 * Reads a private file, refusing one that others can read, as ssh refuses a loose private key.
 * @returns undefined when there is no file yet.
 * @throws TorError ERR_ONION_KEY_PERMISSIONS with the chmod to run.
 */
export async function readPrivateFile(path: string, what: string): Promise<string | undefined> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!info) return undefined;
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8);
    throw new TorError(
      "ERR_ONION_KEY_PERMISSIONS",
      `${path} holds ${what} but has mode ${mode}; run 'chmod 600 ${path}' and start again`,
    );
  }
  return readFile(path, "utf8");
}

// Keys of a test directory authority: its v3 identity (tor-gencert) and its relay fingerprint, for every node's DirAuthority line.
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { TorError } from "../errors.ts";

const run = promisify(execFile);

export interface AuthorityKeys {
  /** The `fingerprint` line of authority_certificate (DirAuthority's v3ident). */
  v3ident: string;
  /** The relay identity fingerprint, without spaces. */
  fingerprint: string;
}

/** Makes an authority's keys in `<dataDirectory>/keys` (ENVIRONMENT.md's recipe, as chutney does). */
export async function createAuthorityKeys(
  dataDirectory: string,
  dirPort: number,
  orPort: number,
  torBinary = "tor",
): Promise<AuthorityKeys> {
  const keys = join(dataDirectory, "keys");
  await mkdir(keys, { recursive: true, mode: 0o700 });
  try {
    // An empty passphrase on fd 0; -m 12 months of validity.
    const gencert = run(
      "tor-gencert",
      ["--create-identity-key", "-m", "12", "-a", `127.0.0.1:${dirPort}`, "--passphrase-fd", "0"],
      { cwd: keys },
    );
    gencert.child.stdin?.end("\n");
    await gencert;
  } catch (error) {
    throw new TorError(
      "ERR_TESTNET",
      `tor-gencert failed (is tor installed?): ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const certificate = await readFile(join(keys, "authority_certificate"), "utf8");
  const v3ident = /^fingerprint ([0-9A-F]{40})$/m.exec(certificate)?.[1];
  const listed = await run(torBinary, [
    "--quiet",
    "--ignore-missing-torrc",
    "-f",
    "/dev/null",
    "--defaults-torrc",
    "/dev/null",
    "--DataDirectory",
    dataDirectory,
    "--ORPort",
    String(orPort),
    "--list-fingerprint",
  ]);
  const fingerprint = /([0-9A-F]{4}(?: [0-9A-F]{4}){9})\s*$/
    .exec(listed.stdout.trim())?.[1]
    ?.replaceAll(" ", "");
  if (!v3ident || !fingerprint) {
    throw new TorError(
      "ERR_TESTNET",
      `could not read the authority keys in ${keys}: ${listed.stdout.trim()}`,
    );
  }
  return { v3ident, fingerprint };
}
